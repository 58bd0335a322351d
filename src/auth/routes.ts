import { auditInsert } from "../audit/audit";
import { nowIso } from "../db/client";
import { type UserRow, users } from "../db/schema";
import type { Config } from "../env";
import { clientIp, userAgent } from "../http/client";
import { ok } from "../http/envelope";
import { AppError, tooManyRequests } from "../http/errors";
import { enforceRateLimit } from "../http/rate-limit";
import { createRouter } from "../openapi/router";
import { isUniqueViolation, uniqueConflict } from "../users/conflicts";
import { toPublicUser } from "../users/present";
import { clearFailedLogins, lockOf, reserveLoginAttempt, secondsUntil } from "./lockout";
import { assertAcceptablePassword, dummyHash, hashCost, hashPassword, verifyPassword } from "./passwords";
import { loginRoute, logoutRoute, meRoute, refreshRoute, registerRoute } from "./routes.defs";
import {
  accountSuspended,
  emailNotVerified,
  invalidRefreshToken,
  newSession,
  revokeAllSessions,
  revokeSession,
  rotateRefreshToken,
} from "./sessions";
import { sha256Hex, signAccessToken } from "./tokens";
import { sendVerificationEmail } from "./verification";

const invalidCredentials = () => new AppError(401, "INVALID_CREDENTIALS", "Invalid email or password");

export const authRoutes = createRouter()
  .openapi(registerRoute, async (c) => {
    const { username, email, password } = c.req.valid("json");
    const { config, db } = c.var;
    await enforceRateLimit(c, "register", { email });
    assertAcceptablePassword(password, config.PASSWORD_MIN_LENGTH, { email, username });

    const now = nowIso();
    let user: UserRow | undefined;
    try {
      [user] = await db
        .insert(users)
        .values({
          id: crypto.randomUUID(),
          username,
          email,
          passwordHash: await hashPassword(password, config.BCRYPT_COST),
          createdAt: now,
          updatedAt: now,
        })
        .returning();
    } catch (err) {
      if (isUniqueViolation(err)) throw uniqueConflict(err);
      throw err;
    }
    if (!user) throw new Error("insert returned no row");
    await sendVerificationEmail(c, user);
    return ok(c, "Registration successful", { user: toPublicUser(user) }, { status: 201 });
  })

  .openapi(loginRoute, async (c) => {
    const { email, password } = c.req.valid("json");
    const { config, db } = c.var;
    const ip = clientIp(c);
    await enforceRateLimit(c, "login", { email });

    const user = await reserveLoginAttempt(db, email);
    const passwordOk = await verifyPassword(password, user?.passwordHash ?? (await dummyHash(config.BCRYPT_COST)));
    if (!user || !passwordOk) {
      // The lock is asked for known and unknown emails alike, so both failures make the same D1 queries.
      const [, [lock]] = await db.batch([
        auditInsert(db, { action: "login_failure", targetId: user?.id, ip, details: { email } }),
        lockOf(db, email),
      ]);
      const lockedFor = secondsUntil(lock?.lockedUntil);
      if (!user && lockedFor > 0) throw tooManyRequests(lockedFor, "ACCOUNT_LOCKED");
      throw invalidCredentials();
    }
    // Only after the password is proven do we say anything about the account's state.
    if (user.status !== "active") throw new AppError(403, "ACCOUNT_SUSPENDED", "This account is suspended");
    if (config.REQUIRE_EMAIL_VERIFICATION && !user.emailVerifiedAt) {
      throw new AppError(403, "EMAIL_NOT_VERIFIED", "Verify your email address before logging in");
    }

    const session = await newSession(db, {
      userId: user.id,
      userAgent: userAgent(c),
      ip,
      ttlSeconds: config.REFRESH_TOKEN_TTL,
    });
    // A hash made at an older BCRYPT_COST is upgraded while the password is at hand.
    const upgradedHash =
      hashCost(user.passwordHash) === config.BCRYPT_COST ? undefined : await hashPassword(password, config.BCRYPT_COST);
    await db.batch([
      clearFailedLogins(db, user.id, upgradedHash),
      session.insert,
      auditInsert(db, { action: "login_success", actorId: user.id, targetId: user.id, ip }),
    ]);
    return ok(c, "Login successful", await tokenResponse(c.var.config, user, session.id, session.refreshToken));
  })

  .openapi(refreshRoute, async (c) => {
    const { config, db } = c.var;
    await enforceRateLimit(c, "refresh");
    const result = await rotateRefreshToken(db, c.req.valid("json").refreshToken, config);
    if (result.outcome === "reused") {
      await auditInsert(db, {
        action: "refresh_token_reuse",
        targetId: result.userId,
        ip: clientIp(c),
        details: { sessionId: result.sessionId },
      });
    }
    if (result.outcome === "suspended") throw accountSuspended();
    if (result.outcome === "unverified") throw emailNotVerified();
    if (result.outcome !== "rotated") throw invalidRefreshToken();
    return ok(c, "Token refreshed", await tokenResponse(config, result.user, result.sessionId, result.refreshToken));
  })

  .openapi(logoutRoute, async (c) => {
    const { db, user, sessionId } = c.var;
    const body = c.req.valid("json");
    const ip = clientIp(c);
    if (body.all) {
      await db.batch([
        revokeAllSessions(db, user.id),
        auditInsert(db, { action: "logout", actorId: user.id, targetId: user.id, ip, details: { all: true } }),
      ]);
      return ok(c, "Logged out of every session");
    }
    // A refresh token of another of the caller's own sessions may be named too; anyone else's is ignored.
    const alsoHash = body.refreshToken ? await sha256Hex(body.refreshToken) : undefined;
    await db.batch([
      revokeSession(db, user.id, sessionId, alsoHash),
      auditInsert(db, { action: "logout", actorId: user.id, targetId: user.id, ip, details: { sessionId } }),
    ]);
    return ok(c, "Logged out");
  })

  .openapi(meRoute, (c) => ok(c, "Current user", { user: toPublicUser(c.var.user) }));

async function tokenResponse(config: Config, user: UserRow, sessionId: string, refreshToken: string) {
  return {
    accessToken: await signAccessToken(
      { sub: user.id, sid: sessionId, role: user.role },
      config.JWT_SECRET,
      config.ACCESS_TOKEN_TTL,
    ),
    refreshToken,
    tokenType: "Bearer" as const,
    expiresIn: config.ACCESS_TOKEN_TTL,
    user: toPublicUser(user),
  };
}
