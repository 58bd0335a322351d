import { and, count, desc, eq, or } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod";
import { requireAuth } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { auditEvents } from "../db/schema";
import type { AppEnv } from "../env";
import { ok, pageMeta } from "../http/envelope";
import { pageQuery } from "../http/pagination";
import { validate } from "../http/validate";

export const auditListQuery = pageQuery.extend({
  /** Events where the user acted or was acted upon. */
  userId: z.uuid({ error: "userId must be a user id" }).optional(),
  // A shape check rather than a fixed list, so a new kind of event needs no change here.
  action: z
    .string()
    .regex(/^[a-z_]{1,64}$/, "action must be an event name such as role_change")
    .optional(),
});

/** The security audit trail, newest first, for admins only. */
export const auditRoutes = new Hono<AppEnv>().get(
  "/audit",
  requireAuth,
  requirePermission("audit:read"),
  validate("query", auditListQuery),
  async (c) => {
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
  },
);
