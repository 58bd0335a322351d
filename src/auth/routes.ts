import { and, eq } from "drizzle-orm";
import { auditInsert, auditInsertWhere } from "../audit/audit";
import { nowIso } from "../db/client";
import { type UserRow, users } from "../db/schema";
import { clientIp, clientNetwork } from "../http/client";
import { ok } from "../http/envelope";
import { tooManyRequests } from "../http/errors";
import { enforceRateLimit } from "../http/rate-limit";
import { createRouter } from "../openapi/router";
import { isUniqueViolation, uniqueConflict } from "../users/conflicts";
import { toPublicUser } from "../users/present";
import { sessionHoldsInWrite, sessionUser } from "./guard";
import { passChallenge } from "./lockout/challenge";
import { clearFailures, failureScope, reserveAttempt } from "./lockout/failures";
import { comparePassword, passwordStillHolds } from "./password-proof";
import { assertAcceptablePassword, dummyHash, hashCost, hashPassword } from "./passwords";
import { loginRoute, logoutRoute, meRoute, refreshRoute, registerRoute } from "./routes.defs";
import {
  accountSuspended,
  emailNotVerified,
  invalidRefreshToken,
  revokeAllSessions,
  revokeSession,
  rotateRefreshToken,
} from "./sessions";
import { completeSignIn, invalidCredentials, tokenResponse } from "./sign-in";
import { sha256Hex } from "./tokens";
import { sendVerificationEmail } from "./verification";

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

  /**
   * Every write after the bcrypt compare (session, audit, clearing failures,
   * rehash) is conditional on what the compare saw: the same password hash,
   * the user still there and active. A login racing a reset, a password
   * change or a deletion therefore writes nothing and answers 401.
   */
  .openapi(loginRoute, async (c) => {
    const { email, password, turnstileToken } = c.req.valid("json");
    const { config, db } = c.var;
    const ip = clientIp(c);
    const network = clientNetwork(c);
    // Per email *and* network: strangers hammering an address cannot use up its owner's budget.
    await enforceRateLimit(c, "login", { email, network });

    const attempt = await reserveAttempt(db, { email, network });
    // Counted per email whether or not the account exists, so this says nothing about who has one.
    if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
    const delayMs = await passChallenge(c, attempt, { allowed: true, token: turnstileToken });
    const { user } = attempt;
    // An unknown email costs what a real account's hash costs, whatever BCRYPT_COST it was made at.
    // An account without a password (social sign-in only) is compared like an unknown email.
    const againstHash = user?.hasPassword
      ? user.passwordHash
      : await dummyHash(attempt.unknownEmailCost || config.BCRYPT_COST);
    // Compared first, whether or not there is a user: an unknown email must cost the same bcrypt work.
    const passwordOk = await comparePassword(c, password, againstHash, delayMs);
    if (!user?.hasPassword || !passwordOk) {
      await auditInsert(db, { action: "login_failure", targetId: user?.id, ip, details: { email } });
      throw invalidCredentials();
    }
    // Only after the password is proven does the door say anything about the account's state.
    const stillHolds = passwordStillHolds(user.id, user.passwordHash);
    // A hash made at an older BCRYPT_COST is upgraded while the password is at hand.
    const upgradedHash =
      hashCost(user.passwordHash) === config.BCRYPT_COST ? undefined : await hashPassword(password, config.BCRYPT_COST);
    const answer = await completeSignIn(c, {
      user,
      factors: ["pwd"],
      stillHolds,
      before: [clearFailures(db, email, [failureScope.account, failureScope.network(network)], stillHolds)],
      upgradedHash,
    });
    if ("mfaRequired" in answer) return ok(c, "Second factor required", answer);
    return ok(c, "Login successful", answer);
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
    // One round trip: the guard's check rides in this batch, and every write carries it (requireAuthInWrite).
    // The writes that need the session live come before the revocation that ends it.
    const holds = sessionHoldsInWrite(c);
    const audit = (details: Record<string, unknown>) =>
      auditInsertWhere(db, { action: "logout", actorId: user.id, targetId: user.id, ip, details }, holds);
    if (body.all) {
      // "Sign out everywhere" is what an owner does who suspects someone else: a pending email change goes too.
      await db.batch([
        audit({ all: true }),
        db
          .update(users)
          .set({ pendingEmail: null, pendingEmailExpiresAt: null })
          .where(and(eq(users.id, user.id), holds)),
        revokeAllSessions(db, user.id, undefined, holds),
      ]);
      return ok(c, "Logged out of every session");
    }
    // A refresh token of another of the caller's own sessions may be named too; anyone else's is ignored.
    const alsoHash = body.refreshToken ? await sha256Hex(body.refreshToken) : undefined;
    await db.batch([audit({ sessionId }), revokeSession(db, user.id, sessionId, alsoHash, holds)]);
    return ok(c, "Logged out");
  })

  .openapi(meRoute, async (c) => {
    const user = await sessionUser(c);
    return ok(c, "Current user", { user: toPublicUser(user), hasPassword: user.hasPassword !== false });
  });
