import { and, eq, gt, isNull, ne, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { nowIso } from "../db/client";
import { sessions, users } from "../db/schema";
import { AppError } from "../http/errors";
import { randomToken, sha256Hex } from "./tokens";

const addSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

export const invalidRefreshToken = () =>
  new AppError(401, "INVALID_REFRESH_TOKEN", "Refresh token is invalid, expired or revoked");

/**
 * A refresh token is `<session id>.<256 random bits>`. Only its SHA-256 is
 * stored. Carrying the session id lets a replayed token of ANY earlier
 * generation be recognised as belonging to its session, not just the last one.
 */
const makeRefreshToken = (sessionId: string) => `${sessionId}.${randomToken()}`;
const sessionIdOf = (refreshToken: string) => refreshToken.split(".", 1)[0] ?? "";

/**
 * Prepares a new session. The insert is returned unexecuted so login can
 * batch it with the statements that go with it.
 */
export async function newSession(
  db: Db,
  init: { userId: string; userAgent: string | null; ip: string; ttlSeconds: number },
) {
  const id = crypto.randomUUID();
  const refreshToken = makeRefreshToken(id);
  const row = {
    id,
    userId: init.userId,
    refreshTokenHash: await sha256Hex(refreshToken),
    userAgent: init.userAgent,
    ip: init.ip,
    createdAt: nowIso(),
    lastUsedAt: nowIso(),
    expiresAt: addSeconds(init.ttlSeconds),
  };
  // `row` lets a caller insert it conditionally (see db/insert-where.ts).
  return { id, refreshToken, row, insert: db.insert(sessions).values(row) };
}

/**
 * Swaps a refresh token for a new one in one conditional UPDATE: of several
 * requests racing with the same token exactly one matches the row. A token
 * that names a live session but is not its current token is an old one used
 * again, which only happens when it was stolen (or a client raced itself), so
 * the whole session is revoked and every holder must log in again.
 */
export async function rotateRefreshToken(db: Db, refreshToken: string, ttlSeconds: number) {
  const sessionId = sessionIdOf(refreshToken);
  const oldHash = await sha256Hex(refreshToken);
  const nextToken = makeRefreshToken(sessionId);
  const nextHash = await sha256Hex(nextToken);
  const now = nowIso();
  const [rotated, owner] = await db.batch([
    db
      .update(sessions)
      .set({
        refreshTokenHash: nextHash,
        previousRefreshTokenHash: oldHash,
        lastUsedAt: now,
        expiresAt: addSeconds(ttlSeconds),
      })
      .where(
        and(
          eq(sessions.id, sessionId),
          eq(sessions.refreshTokenHash, oldHash),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
        ),
      )
      .returning({ id: sessions.id }),
    db
      .select()
      .from(users)
      .where(
        eq(
          users.id,
          sql`(select ${sessions.userId} from ${sessions} where ${sessions.refreshTokenHash} = ${nextHash})`,
        ),
      ),
  ]);
  const user = owner[0];
  if (rotated[0] && user) return { outcome: "rotated" as const, sessionId, user, refreshToken: nextToken };

  const reused = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), ne(sessions.refreshTokenHash, oldHash), isNull(sessions.revokedAt)))
    .returning({ userId: sessions.userId });
  return reused[0]
    ? { outcome: "reused" as const, sessionId, userId: reused[0].userId }
    : { outcome: "invalid" as const };
}

/** Revokes one of the user's sessions (and, when given, the one holding that refresh token hash). */
export const revokeSession = (db: Db, userId: string, sessionId: string, refreshTokenHash?: string) =>
  db
    .update(sessions)
    .set({ revokedAt: nowIso() })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        or(eq(sessions.id, sessionId), refreshTokenHash ? eq(sessions.refreshTokenHash, refreshTokenHash) : undefined),
      ),
    )
    .returning({ id: sessions.id });

/** Revokes every live session of a user, optionally sparing the one making the request. */
export const revokeAllSessions = (db: Db, userId: string, exceptSessionId?: string) =>
  db
    .update(sessions)
    .set({ revokedAt: nowIso() })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        exceptSessionId ? ne(sessions.id, exceptSessionId) : undefined,
      ),
    );
