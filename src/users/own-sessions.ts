import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { auditInsertWhere } from "../audit/audit";
import { type Db, nowIso } from "../db/client";
import { sessions } from "../db/schema";
import type { AppEnv } from "../env";
import { clientIp } from "../http/client";
import { notFound } from "../http/errors";

/** Enough for any person's devices; a client that logs in in a loop sees its 100 most recent. */
const MAX_LISTED_SESSIONS = 100;

const liveSessionsOf = (userId: string, now: string) =>
  and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now));

/** The caller's live sessions (not revoked, not expired), most recently used first. */
export async function listOwnSessions(db: Db, userId: string, currentSessionId: string) {
  const rows = await db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(liveSessionsOf(userId, nowIso()))
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.id))
    .limit(MAX_LISTED_SESSIONS);
  return rows.map((s) => ({ ...s, current: s.id === currentSessionId }));
}

/**
 * Revokes one of the caller's own live sessions. Another user's session id is
 * matched by nothing and answers 404, exactly like an unknown id, so the
 * endpoint tells nobody which session ids exist.
 */
export async function revokeOwnSession(c: Context<AppEnv>, sessionId: string) {
  const { db, user } = c.var;
  const target = and(eq(sessions.id, sessionId), liveSessionsOf(user.id, nowIso()));
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
