import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ok } from "../http/envelope";
import { AppError } from "../http/errors";

export const healthRoutes = new Hono<AppEnv>().get("/health", async (c) => {
  try {
    await c.var.db.run(sql`select 1`);
  } catch {
    throw new AppError(503, "INTERNAL_ERROR", "Database unavailable");
  }
  return ok(c, "Healthy", { status: "ok", db: "ok" });
});
