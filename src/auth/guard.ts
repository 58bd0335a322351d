import { and, eq, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { sessions, users } from "../db/schema";
import type { AppEnv } from "../env";
import { unauthorized } from "../http/errors";
import { accountSuspended, emailNotVerified, liveSession } from "./sessions";
import { assertMfaEnrolled } from "./step-up/mfa-policy";
import { verifyAccessToken } from "./tokens";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/**
 * Authenticates the caller: the JWT must verify (HS256, unexpired), and then
 * its session and user are loaded in one D1 query, so a logout, a suspension,
 * a deletion or a role change applies to the very next request, long before
 * the token's `exp`. The role used for every decision is the database's, not
 * the token's.
 *
 * The session row is loaded whether or not it is still live, so the answer
 * can say why: a suspended account gets `403 ACCOUNT_SUSPENDED` (its sessions
 * were revoked by the suspension, which would otherwise read as a plain 401);
 * an ended session (revoked, expired, or older than `SESSION_MAX_AGE`) gets
 * 401; with `REQUIRE_EMAIL_VERIFICATION` on, an unverified account gets
 * `403 EMAIL_NOT_VERIFIED` except on the routes that let it get verified or
 * leave (`allowUnverified`).
 */
function authenticate({ allowUnverified }: { allowUnverified: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = BEARER.exec(c.req.header("Authorization") ?? "");
    if (!match?.[1]) throw unauthorized();
    const { config } = c.var;
    const claims = await verifyAccessToken(match[1], config.JWT_SECRET);
    if (!claims) throw unauthorized("Access token is invalid or expired");

    const row = await c.var.db
      .select({
        id: users.id,
        username: users.username,
        email: users.email,
        role: users.role,
        status: users.status,
        emailVerifiedAt: users.emailVerifiedAt,
        pendingEmail: users.pendingEmail,
        pendingEmailExpiresAt: users.pendingEmailExpiresAt,
        passwordHash: users.passwordHash,
        createdAt: users.createdAt,
        updatedAt: users.updatedAt,
        mfaEnabledAt: users.mfaEnabledAt,
        lastProofAt: sessions.lastProofAt,
        live: sql<number>`${liveSession(config)}`,
      })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sid), eq(sessions.userId, claims.sub)))
      .get();
    if (!row) throw unauthorized("Session has ended; log in again");
    const { live, ...user } = row;
    if (user.status !== "active") throw accountSuspended();
    if (!live) throw unauthorized("Session has ended; log in again");
    if (config.REQUIRE_EMAIL_VERIFICATION && !user.emailVerifiedAt && !allowUnverified) throw emailNotVerified();

    c.set("user", user);
    c.set("sessionId", claims.sid);
    assertMfaEnrolled(c);
    await next();
  };
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
