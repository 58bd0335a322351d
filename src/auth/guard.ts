import { and, eq, isNotNull, type SQL, sql } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { sessionCheck } from "../db/client";
import { sessions, users } from "../db/schema";
import type { AppEnv, AuthUser, Config } from "../env";
import { unauthorized } from "../http/errors";
import { accountSuspended, emailNotVerified, liveSession } from "./sessions";
import { assertMfaEnrolled, mfaEnrolledCondition } from "./step-up/mfa-policy";
import { type AccessClaims, verifyAccessToken } from "./tokens";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/**
 * What the guard loads with the session on every request. Add a column here
 * and it reaches `c.var.user` (names must stay distinct: see `sessionCheck`).
 */
const guardFields = (config: Config) => ({
  id: users.id,
  username: users.username,
  email: users.email,
  role: users.role,
  status: users.status,
  emailVerifiedAt: users.emailVerifiedAt,
  pendingEmail: users.pendingEmail,
  pendingEmailExpiresAt: users.pendingEmailExpiresAt,
  passwordHash: users.passwordHash,
  hasPassword: users.hasPassword,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  mfaEnabledAt: users.mfaEnabledAt,
  lastProofAt: sessions.lastProofAt,
  lastProofJti: sessions.lastProofJti,
  live: sql<number>`${liveSession(config)}`,
});

/**
 * Authenticates the caller: the JWT must verify (HS256, unexpired), and then
 * its session and user are checked in D1 on every request, so a logout, a
 * suspension, a deletion or a role change applies to the very next request,
 * long before the token's `exp`.
 *
 * One D1 round trip for the whole request where possible: on GET (which only
 * reads) the check is armed on the request's D1 gate (db/gate.ts) and sent in
 * the same batch as the route's first query; the route's results are handed
 * back only after the check passed, and the check also runs when the route
 * made no query, so no answer leaves without it. Until then `c.var.user`
 * holds only the token's `id` (any other field throws), and a route that
 * decides by role runs the check first (`requirePermission` does, unless
 * every role may), so no decision ever rests on the token's role claim. Every
 * other method checks first, as a write may depend on the whole row.
 *
 * The session row is loaded whether or not it is still live, so the answer
 * can say why: a suspended account gets `403 ACCOUNT_SUSPENDED` (its sessions
 * were revoked by the suspension, which would otherwise read as a plain 401);
 * an ended session (revoked, expired, or older than `SESSION_MAX_AGE`) gets
 * 401; with `REQUIRE_EMAIL_VERIFICATION` on, an unverified account gets
 * `403 EMAIL_NOT_VERIFIED` except on the routes that let it get verified or
 * leave (`allowUnverified`).
 */
function authenticate({
  allowUnverified,
  inWrite = false,
}: {
  allowUnverified: boolean;
  inWrite?: boolean;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = BEARER.exec(c.req.header("Authorization") ?? "");
    if (!match?.[1]) throw unauthorized();
    const { config, db } = c.var;
    const claims = await verifyAccessToken(match[1], config.JWT_SECRET);
    if (!claims) throw unauthorized("Access token is invalid or expired");

    const deferred = inWrite || c.req.method === "GET" || c.req.method === "HEAD";
    const query = db
      .select(guardFields(config))
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sid), eq(sessions.userId, claims.sub)));
    type Row = Awaited<typeof query>[number];
    const check = sessionCheck<Row>(query, ([row]) => {
      if (!row) throw unauthorized("Session has ended; log in again");
      const { live, ...user } = row;
      if (user.status !== "active") throw accountSuspended();
      if (!live) throw unauthorized("Session has ended; log in again");
      if (config.REQUIRE_EMAIL_VERIFICATION && !user.emailVerifiedAt && !allowUnverified) throw emailNotVerified();
      c.set("user", user);
      assertMfaEnrolled(c);
    });
    c.var.sessionGate.arm({ ...check, ridesWithWrites: inWrite });
    c.set("sessionId", claims.sid);
    c.set("tokenId", claims.jti);
    c.set("sessionHolds", sessionHolds(c, claims, allowUnverified));
    if (!deferred) {
      await c.var.sessionGate.flush();
      return next();
    }
    c.set("user", claimedUser(claims));
    await next();
    // A route that made no query: the check still decides the answer.
    await c.var.sessionGate.flush();
  };
}

/**
 * The caller until the deferred check loads the row: only the id (which the
 * check confirms: the session must belong to it). Everything else, the role
 * included, throws, so nothing can decide on what the token merely claims.
 */
function claimedUser(claims: AccessClaims): AuthUser {
  const known = { id: claims.sub };
  return new Proxy(known as AuthUser, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof known];
      throw new Error(`c.var.user.${String(key)} read before the session check: await sessionUser(c)`);
    },
  });
}

/** The signed-in caller's full row, running the deferred session check now if no query has carried it yet. */
export async function sessionUser(c: Context<AppEnv>): Promise<AuthUser> {
  await c.var.sessionGate.flush();
  return c.var.user;
}

/**
 * Everything the guard's check accepts, as one SQL condition a write carries
 * (`... WHERE ... AND <this>`): the session is the token's, live, of an
 * active account, verified when that is required, enrolled in MFA when the
 * role must be. Kept beside the check it mirrors: a condition weaker than
 * the check would let a write land for a request that then answers 401/403.
 */
function sessionHolds(c: Context<AppEnv>, claims: AccessClaims, allowUnverified: boolean): SQL {
  const { config } = c.var;
  const verified = config.REQUIRE_EMAIL_VERIFICATION && !allowUnverified ? isNotNull(users.emailVerifiedAt) : undefined;
  return sql`exists (select 1 from ${sessions} inner join ${users} on ${users.id} = ${sessions.userId} where ${and(
    eq(sessions.id, claims.sid),
    eq(sessions.userId, claims.sub),
    liveSession(config),
    eq(users.status, "active"),
    verified,
    mfaEnrolledCondition(c),
  )})`;
}

/**
 * The guard's check as a condition for a write: a `requireAuthInWrite` route
 * must carry it in every write; a `requireAuth` route may, so that a write
 * made after the check still lands only while the session holds. Throws
 * outside a bearer route.
 */
export function sessionHoldsInWrite(c: Context<AppEnv>): SQL {
  const holds = c.var.sessionHolds;
  if (!holds) throw new Error("sessionHoldsInWrite outside a bearer route");
  return holds;
}

/** Every bearer route: a live session of an active account (verified, when that is required). */
export const requireAuth = authenticate({ allowUnverified: false });

/**
 * For the few routes an unverified account still needs while
 * `REQUIRE_EMAIL_VERIFICATION` is on: reading itself, asking for a new
 * verification email, fixing its address, listing and ending its sessions,
 * deleting itself. Everything else answers `403 EMAIL_NOT_VERIFIED`.
 */
export const requireAuthAllowUnverified = authenticate({ allowUnverified: true });

/**
 * `requireAuth` for a write that carries the session check itself: the
 * check is not sent first but rides in the batch of the route's first D1
 * call, writes included, so the request makes ONE round trip. Sound only
 * because every write in that first batch adds `sessionHoldsInWrite(c)` to
 * its WHERE: in the batch's transaction the check and the condition see the
 * same rows, so when the check fails (and the answer is 401/403) the write
 * matched nothing. Calls after it run once the check passed (step-up routes:
 * the first batch is the proof's reservation, lockout/signed-in.ts, and the
 * route's write follows bcrypt). A route whose first call may be a write
 * without that condition must use `requireAuth`. As on a deferred GET,
 * `c.var.user` holds only the id until the check passed.
 */
export const requireAuthInWrite = authenticate({ allowUnverified: false, inWrite: true });

/** `requireAuthInWrite` for the routes an unverified account still needs (`POST /logout`). */
export const requireAuthAllowUnverifiedInWrite = authenticate({ allowUnverified: true, inWrite: true });
