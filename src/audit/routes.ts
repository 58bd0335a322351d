import { and, count, desc, eq, or, sql } from "drizzle-orm";
import { auditEvents } from "../db/schema";
import { nextCursor } from "../http/cursor";
import { ok, pageMeta } from "../http/envelope";
import { startOf } from "../http/pagination";
import { createRouter } from "../openapi/router";
import { auditListRoute } from "./routes.defs";

/**
 * The security audit trail, newest first, for admins only. A `cursor` seeks in
 * the (created_at, id) index past the previous page instead of skipping rows.
 */
export const auditRoutes = createRouter().openapi(auditListRoute, async (c) => {
  const { userId, action, ...paging } = c.req.valid("query");
  const { limit } = paging;
  const { db } = c.var;
  const start = startOf("audit", paging);
  const where = and(
    userId ? or(eq(auditEvents.actorId, userId), eq(auditEvents.targetId, userId)) : undefined,
    action ? eq(auditEvents.action, action) : undefined,
  );
  const after =
    start.seek && sql`(${auditEvents.createdAt}, ${auditEvents.id}) < (${start.seek.key}, ${start.seek.id})`;
  const [items, totals] = await db.batch([
    db
      .select()
      .from(auditEvents)
      .where(and(where, after))
      .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
      .limit(limit)
      .offset(start.offset),
    db.select({ total: count() }).from(auditEvents).where(where),
  ]);
  const next = nextCursor("audit", start.page, items, limit, (e) => [e.createdAt, e.id]);
  return ok(c, "Audit events", items, { meta: pageMeta(start.page, limit, totals[0]?.total ?? 0, next) });
});
