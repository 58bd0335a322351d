import { and, eq, gt, isNull, ne, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { nowIso } from "../db/client";
import { sessions, users } from "../db/schema";
import type { Config } from "../env";
import { AppError } from "../http/errors";
import { nextRefreshSecret, randomToken, sha256Hex } from "./tokens";

const addSeconds = (seconds: number, from = Date.now()) => new Date(from + seconds * 1000).toISOString();

export const invalidRefreshToken = () =>
  new AppError(401, "INVALID_REFRESH_TOKEN", "Refresh token is invalid, expired or revoked");

export const accountSuspended = () => new AppError(403, "ACCOUNT_SUSPENDED", "This account is suspended");

export const emailNotVerified = () =>
  new AppError(403, "EMAIL_NOT_VERIFIED", "Verify your email address to use this account");

/**
 * A refresh token is `<session id>.<secret>`. Only its SHA-256 is stored. The
 * session id lets the previous token of a session be recognised as a replay.
 */
const makeRefreshToken = (sessionId: string, secret = randomToken()) => `${sessionId}.${secret}`;
const sessionIdOf = (refreshToken: string) => refreshToken.split(".", 1)[0] ?? "";

/**
 * The condition every use of a session must meet: not revoked, before its
 * sliding expiry (moved by each refresh), and younger than `SESSION_MAX_AGE`,
 * which no refresh moves. The guard, `/refresh` and `/me/sessions` all use it.
 */
export const liveSession = (config: Pick<Config, "SESSION_MAX_AGE">, now = Date.now()): SQL =>
  and(
    isNull(sessions.revokedAt),
    gt(sessions.expiresAt, new Date(now).toISOString()),
    gt(sessions.createdAt, addSeconds(-config.SESSION_MAX_AGE, now)),
  ) as SQL;

/** The account may hold tokens: active and, when `REQUIRE_EMAIL_VERIFICATION` is on, verified. */
const accountMayHoldTokens = (config: Pick<Config, "REQUIRE_EMAIL_VERIFICATION">) =>
  sql`exists (select 1 from ${users} where ${users.id} = ${sessions.userId} and ${users.status} = 'active'${
    config.REQUIRE_EMAIL_VERIFICATION ? sql` and ${users.emailVerifiedAt} is not null` : sql``
  })`;

/**
 * Prepares a new session's row and refresh token; the caller inserts the row
 * conditionally, in the batch that goes with it (see db/insert-where.ts).
 */
export async function newSession(init: { userId: string; userAgent: string | null; ip: string; ttlSeconds: number }) {
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
  return { id, refreshToken, row };
}

type RotationConfig = Pick<
  Config,
  "JWT_SECRET" | "REFRESH_TOKEN_TTL" | "REFRESH_REUSE_GRACE" | "SESSION_MAX_AGE" | "REQUIRE_EMAIL_VERIFICATION"
>;

/**
 * Swaps a refresh token for the next one in one conditional UPDATE.
 *
 * The next token is derived from the presented one with a server key
 * (`nextRefreshSecret`), so presenting the same token twice yields the same
 * successor. That is what makes the reuse grace safe and bounded: within
 * `REFRESH_REUSE_GRACE` seconds of a rotation, the token it rotated away (the
 * session's `previous` hash) is accepted again and answers with the session's
 * current token, which both tabs then share. Nothing new is minted, so any
 * number of parallel refreshes with one token end with one live token.
 *
 * The UPDATE also requires a live session and an account that may hold tokens
 * (active; verified when required), so a refused refresh consumes nothing.
 * When it matches no row, `explainRefusal` decides what to answer.
 */
export async function rotateRefreshToken(db: Db, refreshToken: string, config: RotationConfig) {
  const sessionId = sessionIdOf(refreshToken);
  const oldHash = await sha256Hex(refreshToken);
  const nextToken = makeRefreshToken(sessionId, await nextRefreshSecret(config.JWT_SECRET, refreshToken));
  const nextHash = await sha256Hex(nextToken);
  const nowMs = Date.now();
  const now = new Date(nowMs).toISOString();
  const graceSince = addSeconds(-config.REFRESH_REUSE_GRACE, nowMs);
  const isCurrent = eq(sessions.refreshTokenHash, oldHash);
  // The retry of a token rotated moments ago, whose successor is still the current token.
  const isGraceRetry = and(
    eq(sessions.previousRefreshTokenHash, oldHash),
    eq(sessions.refreshTokenHash, nextHash),
    gt(sessions.rotatedAt, graceSince),
  );
  const [rotated, owner] = await db.batch([
    db
      .update(sessions)
      .set({
        refreshTokenHash: nextHash,
        previousRefreshTokenHash: oldHash,
        // A grace retry does not restart the grace: it runs from the real rotation.
        rotatedAt: sql`case when ${isCurrent} then ${now} else ${sessions.rotatedAt} end`,
        lastUsedAt: now,
        // Sliding, but never past the session's absolute end.
        expiresAt: sql`min(${addSeconds(config.REFRESH_TOKEN_TTL, nowMs)}, strftime('%Y-%m-%dT%H:%M:%fZ', ${sessions.createdAt}, ${`+${config.SESSION_MAX_AGE} seconds`}))`,
      })
      .where(
        and(
          eq(sessions.id, sessionId),
          or(isCurrent, isGraceRetry),
          liveSession(config, nowMs),
          accountMayHoldTokens(config),
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
  return explainRefusal(db, sessionId, refreshToken, oldHash, config, nowMs);
}

/**
 * How many rotations back a presented token is still recognised as this
 * session's own: at a refresh every 15 minutes, 16 hours of them.
 */
const MAX_ANCESTRY = 64;

/**
 * Where a presented token stands in its session's chain of tokens: the
 * current one, or an earlier one (its successors, derived forward with the
 * server key, reach the session's current or previous hash), or none of the
 * session's at all. Only the server can derive successors, so "earlier" is
 * proof that the token was really issued for this session.
 */
async function standing(
  secret: string,
  sessionId: string,
  token: string,
  hash: string,
  row: { refreshTokenHash: string; previousRefreshTokenHash: string | null },
) {
  if (hash === row.refreshTokenHash) return "current" as const;
  const known = new Set([row.refreshTokenHash, row.previousRefreshTokenHash]);
  if (known.has(hash)) return "earlier" as const;
  let next = token;
  for (let i = 0; i < MAX_ANCESTRY; i++) {
    next = makeRefreshToken(sessionId, await nextRefreshSecret(secret, next));
    if (known.has(await sha256Hex(next))) return "earlier" as const;
  }
  return "foreign" as const;
}

/**
 * Why a refresh matched nothing, with one side effect: a real replay (an
 * earlier token of the session, outside the grace) revokes the session. A
 * token that is none of the session's (`<sid>.garbage`: the sid is in every
 * access token; a tampered copy) changes nothing and learns nothing, not even
 * the account's status.
 */
async function explainRefusal(
  db: Db,
  sessionId: string,
  refreshToken: string,
  oldHash: string,
  config: RotationConfig,
  nowMs: number,
) {
  const session = await db
    .select({
      userId: sessions.userId,
      refreshTokenHash: sessions.refreshTokenHash,
      previousRefreshTokenHash: sessions.previousRefreshTokenHash,
      status: users.status,
      emailVerifiedAt: users.emailVerifiedAt,
      live: sql<number>`${liveSession(config, nowMs)}`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sessionId))
    .get();
  if (!session) return { outcome: "invalid" as const };
  const position = await standing(config.JWT_SECRET, sessionId, refreshToken, oldHash, session);
  if (position === "foreign") return { outcome: "invalid" as const };
  // The token is genuinely this account's, so its holder may learn why it is refused.
  if (session.status !== "active") return { outcome: "suspended" as const };
  if (position === "earlier") {
    // Proven stale for good (the chain only grows), so no later rotation can make this revocation wrong.
    const reused = await db
      .update(sessions)
      .set({ revokedAt: new Date(nowMs).toISOString() })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    return reused[0]
      ? { outcome: "reused" as const, sessionId, userId: session.userId }
      : { outcome: "invalid" as const };
  }
  if (session.live && config.REQUIRE_EMAIL_VERIFICATION && !session.emailVerifiedAt) {
    return { outcome: "unverified" as const };
  }
  return { outcome: "invalid" as const };
}

/** Revokes one of the user's sessions (and, when given, the one holding that refresh token hash). */
export const revokeSession = (
  db: Db,
  userId: string,
  sessionId: string,
  refreshTokenHash?: string,
  /** A condition the revocation must also meet (the caller's own session check, see guard.ts `requireAuthInWrite`). */
  holds?: SQL,
) =>
  db
    .update(sessions)
    .set({ revokedAt: nowIso() })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        or(eq(sessions.id, sessionId), refreshTokenHash ? eq(sessions.refreshTokenHash, refreshTokenHash) : undefined),
        holds,
      ),
    )
    .returning({ id: sessions.id });

/** Revokes every live session of a user, optionally sparing the one making the request (and only while `holds`). */
export const revokeAllSessions = (db: Db, userId: string, exceptSessionId?: string, holds?: SQL) =>
  db
    .update(sessions)
    .set({ revokedAt: nowIso() })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        exceptSessionId ? ne(sessions.id, exceptSessionId) : undefined,
        holds,
      ),
    );
