import { sql } from "drizzle-orm";
import { ok } from "../http/envelope";
import { AppError } from "../http/errors";
import { createRouter } from "../openapi/router";
import { healthRoute } from "./routes.defs";

export const healthRoutes = createRouter().openapi(healthRoute, async (c) => {
  try {
    await c.var.db.run(sql`select 1`);
  } catch {
    throw new AppError(503, "INTERNAL_ERROR", "Database unavailable");
  }
  return ok(c, "Healthy", { status: "ok", db: "ok" });
});
