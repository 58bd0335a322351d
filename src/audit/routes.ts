import { and, count, desc, eq, or } from "drizzle-orm";
import { auditEvents } from "../db/schema";
import { ok, pageMeta } from "../http/envelope";
import { createRouter } from "../openapi/router";
import { auditListRoute } from "./routes.defs";

/** The security audit trail, newest first, for admins only. */
export const auditRoutes = createRouter().openapi(auditListRoute, async (c) => {
  const { page, limit, userId, action } = c.req.valid("query");
  const { db } = c.var;
  const where = and(
    userId ? or(eq(auditEvents.actorId, userId), eq(auditEvents.targetId, userId)) : undefined,
    action ? eq(auditEvents.action, action) : undefined,
  );
  const [items, totals] = await db.batch([
    db
      .select()
      .from(auditEvents)
      .where(where)
      .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
      .limit(limit)
      .offset((page - 1) * limit),
    db.select({ total: count() }).from(auditEvents).where(where),
  ]);
  return ok(c, "Audit events", items, { meta: pageMeta(page, limit, totals[0]?.total ?? 0) });
});
