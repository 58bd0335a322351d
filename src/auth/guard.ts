import { and, eq, gt, isNull } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { nowIso } from "../db/client";
import { sessions, users } from "../db/schema";
import type { AppEnv } from "../env";
import { AppError, unauthorized } from "../http/errors";
import { verifyAccessToken } from "./tokens";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/**
 * Authenticates the caller: the JWT must verify (HS256, unexpired), and then
 * its session and user are loaded in one D1 query, so a logout, a suspension,
 * a deletion or a role change applies to the very next request, long before
 * the token's `exp`. The role used for every decision is the database's, not
 * the token's.
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const match = BEARER.exec(c.req.header("Authorization") ?? "");
  if (!match?.[1]) throw unauthorized();
  const claims = await verifyAccessToken(match[1], c.var.config.JWT_SECRET);
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
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, claims.sid),
        eq(sessions.userId, claims.sub),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, nowIso()),
      ),
    )
    .get();
  if (!row) throw unauthorized("Session has ended; log in again");
  if (row.status !== "active") throw new AppError(403, "ACCOUNT_SUSPENDED", "This account is suspended");

  c.set("user", row);
  c.set("sessionId", claims.sid);
  await next();
};
