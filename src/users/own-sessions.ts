import { and, desc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { auditInsertWhere } from "../audit/audit";
import { sessionHoldsInWrite } from "../auth/guard";
import { liveSession } from "../auth/sessions";
import { type Db, nowIso } from "../db/client";
import { sessions } from "../db/schema";
import type { AppEnv, Config } from "../env";
import { clientIp } from "../http/client";
import { notFound } from "../http/errors";

/** Enough for any person's devices; a client that logs in in a loop sees its 100 most recent. */
const MAX_LISTED_SESSIONS = 100;

const liveSessionsOf = (userId: string, config: Config) => and(eq(sessions.userId, userId), liveSession(config));

/** The moment a session ends at the latest: its sliding expiry, or its absolute end if sooner. */
const endOf = (s: { createdAt: string; expiresAt: string }, config: Config) => {
  const absoluteEnd = Date.parse(s.createdAt) + config.SESSION_MAX_AGE * 1000;
  return new Date(Math.min(Date.parse(s.expiresAt), absoluteEnd)).toISOString();
};

/** The caller's live sessions (not revoked, not expired, not past `SESSION_MAX_AGE`), most recently used first. */
export async function listOwnSessions(db: Db, config: Config, userId: string, currentSessionId: string) {
  const rows = await db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(liveSessionsOf(userId, config))
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.id))
    .limit(MAX_LISTED_SESSIONS);
  return rows.map((s) => ({ ...s, expiresAt: endOf(s, config), current: s.id === currentSessionId }));
}

/**
 * Revokes one of the caller's own live sessions. Another user's session id is
 * matched by nothing and answers 404, exactly like an unknown id, so the
 * endpoint tells nobody which session ids exist. One round trip: the guard's
 * check rides in this batch and both statements carry it (requireAuthInWrite).
 */
export async function revokeOwnSession(c: Context<AppEnv>, sessionId: string) {
  const { db, user } = c.var;
  const target = and(eq(sessions.id, sessionId), liveSessionsOf(user.id, c.var.config), sessionHoldsInWrite(c));
  const [, revoked] = await db.batch([
    auditInsertWhere(
      db,
      { action: "session_revoke", actorId: user.id, targetId: user.id, ip: clientIp(c), details: { sessionId } },
      sql`exists (select 1 from ${sessions} where ${target})`,
    ),
    db.update(sessions).set({ revokedAt: nowIso() }).where(target).returning({ id: sessions.id }),
  ]);
  if (!revoked[0]) throw notFound("Session");
}
