import { and, eq, isNotNull, type SQL, sql } from "drizzle-orm";
import { auditInsertWhere } from "../../audit/audit";
import { users } from "../../db/schema";
import { clientIp, clientNetwork } from "../../http/client";
import { ok } from "../../http/envelope";
import { AppError, notFound, tooManyRequests } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { deliverAfterResponse } from "../../mail/deliver";
import { mailQuotaStatements, takeMailQuota } from "../../mail/quota";
import { loginCodeEmail, stepUpCodeEmail } from "../../mail/templates";
import { createRouter } from "../../openapi/router";
import { sessionHoldsInWrite } from "../guard";
import { passChallenge } from "../lockout/challenge";
import { clearFailures, failureScope, reserveAttempt } from "../lockout/failures";
import { completeSignIn, spendClaim } from "../sign-in";
import { NO_PASSWORD } from "../sign-in-methods";
import { takeBackAccount } from "../take-back";
import { emailCodeClaim, issueEmailCode } from "./codes";
import { requestEmailCodeRoute, requestStepUpCodeRoute, verifyEmailCodeRoute } from "./routes.defs";
import { assertEmailCodeStepUp, invalidEmailCode } from "./step-up";
import { issueStepUpCode } from "./step-up-codes";

const REQUEST_MESSAGE = "If an account exists for that email, a sign-in code has been sent to it";

/** `EMAIL_CODE_LOGIN=false`: the routes answer like routes that do not exist (docs/API.md, Decisions). */
const switchedOff = () => notFound("Route");

/**
 * What a verified account's sign-in by code rests on: the account still has
 * this address, is still active and still verified. Every write of the
 * sign-in carries it, so a suspension or email change racing the code writes nothing.
 */
const codeStillHolds = (userId: string, email: string): SQL =>
  sql`exists (select 1 from ${users} where ${and(eq(users.id, userId), eq(users.email, email), eq(users.status, "active"), isNotNull(users.emailVerifiedAt))})`;

export const emailCodeRoutes = createRouter()
  /**
   * Known and unknown addresses do the same work before the response (the
   * quota step and the code upsert, see `issueEmailCode`) and get the same
   * body; only the mail, sent after the response, differs.
   */
  .openapi(requestEmailCodeRoute, async (c) => {
    const { email } = c.req.valid("json");
    const { config, db } = c.var;
    if (!config.EMAIL_CODE_LOGIN) throw switchedOff();
    await enforceRateLimit(c, "email-code", { email });
    if (await takeMailQuota(c, "login_code", email)) {
      const issued = await issueEmailCode({ db, secret: config.JWT_SECRET }, email);
      const { userId } = issued;
      if (userId) {
        deliverAfterResponse(c, { kind: "login_code", userId }, async () =>
          loginCodeEmail(email, issued.code, issued.expiresIn),
        );
      }
    }
    return ok(c, REQUEST_MESSAGE);
  })

  /**
   * Like POST /login with the code in place of the password: the attempt is
   * reserved against the lockout before the code is looked at, every failure
   * is one answer (`INVALID_EMAIL_CODE`) whatever its reason, and the sign-in
   * goes through the one door. Two round trips: the reservation, then the
   * door's batch, which compares and claims the code inside D1 after every
   * write that carries "the code matches" (the take-back of an unverified
   * account, the failures given back, the audit, the session), and counts
   * and audits a try that claimed nothing.
   */
  .openapi(verifyEmailCodeRoute, async (c) => {
    const { email, code } = c.req.valid("json");
    const { config, db } = c.var;
    if (!config.EMAIL_CODE_LOGIN) throw switchedOff();
    const ip = clientIp(c);
    const network = clientNetwork(c);
    // Per email and network, like /login: strangers guessing cannot use up the owner's budget.
    await enforceRateLimit(c, "email-code-verify", { email, network });

    const attempt = await reserveAttempt(db, { email, network });
    if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
    // No Turnstile here (the body has no token): an email with many failures is slowed down.
    await passChallenge(c, attempt, { allowed: false });
    const { user } = attempt;
    const codeClaim = await emailCodeClaim({ db, secret: config.JWT_SECRET }, email, code);
    // The claim rides at the end of the door's batch; a try that claims nothing is audited there too.
    const claim = {
      statements: [
        auditInsertWhere(
          db,
          { action: "login_failure", targetId: user?.id, ip, details: { email, via: "email-code" } },
          sql`not ${codeClaim.matches}`,
        ),
        ...codeClaim.statements,
      ],
      taken: (results: unknown[]) => codeClaim.result(results.slice(1)).ok,
      refused: invalidEmailCode,
    };
    // No account has the address: the code cannot match, and the try is counted and audited alike.
    if (!user) {
      await spendClaim(c, claim);
      throw invalidEmailCode();
    }

    const takeBack = user.emailVerifiedAt
      ? undefined
      : takeBackAccount(db, user, { via: "email-code" }, { ip, now: Date.now() }, codeClaim.matches);
    const stillHolds = sql`${takeBack?.tookBack ?? codeStillHolds(user.id, email)} and ${codeClaim.matches}`;
    const answer = await completeSignIn(c, {
      // After a take-back the account is what the batch leaves: verified, no password, no TOTP.
      user: takeBack
        ? {
            ...user,
            emailVerifiedAt: takeBack.at,
            passwordHash: NO_PASSWORD,
            hasPassword: false,
            pendingEmail: null,
            pendingEmailExpiresAt: null,
            mfaEnabledAt: null,
            updatedAt: takeBack.at,
          }
        : user,
      factors: ["email"],
      stillHolds,
      before: [
        ...(takeBack?.statements ?? []),
        clearFailures(db, email, [failureScope.account, failureScope.network(network)], stillHolds),
      ],
      details: { via: "email-code", ...(takeBack ? { reclaimed: true } : {}) },
      claim,
    }).catch((err: unknown) => {
      // The door's "your check went stale" (INVALID_CREDENTIALS) is, here, a code that no longer signs in.
      if (err instanceof AppError && err.code === "INVALID_CREDENTIALS") throw invalidEmailCode();
      throw err;
    });
    if ("mfaRequired" in answer) return ok(c, "Second factor required", answer);
    return ok(c, "Login successful", answer);
  })

  /**
   * A step-up code for this session of an account without a password (see
   * `assertEmailCodeStepUp`). Not switched off by `EMAIL_CODE_LOGIN`: it is
   * such an account's only way to step up without a passkey.
   */
  .openapi(requestStepUpCodeRoute, async (c) => {
    const { config, db, user, sessionId } = c.var;
    assertEmailCodeStepUp(user);
    await enforceRateLimit(c, "step-up-code", { userId: user.id });
    // Its own hourly budget: only the signed-in owner spends it (strangers asking for sign-in codes cannot),
    // and the owner may be told it is spent. One batch with the code: stored only while the budget has
    // room and the session holds, the quota counted after it (two round trips with the guard's check).
    const quota = await mailQuotaStatements(db, "step_up_code", user.email);
    const issued = await issueStepUpCode(
      { db, secret: config.JWT_SECRET },
      { userId: user.id, sessionId, email: user.email },
      { condition: sql`${quota.room} and ${sessionHoldsInWrite(c)}`, quota: quota.take },
    );
    if (!issued) throw tooManyRequests(3600);
    deliverAfterResponse(c, { kind: "step_up_code", userId: user.id }, async () =>
      stepUpCodeEmail(user.email, issued.code, issued.expiresIn),
    );
    return ok(c, "A code was sent to your email address", { expiresIn: issued.expiresIn });
  });
