import { and, eq, isNull, sql } from "drizzle-orm";
import { auditInsertWhere } from "../audit/audit";
import { type Db, nowIso } from "../db/client";
import { users } from "../db/schema";
import { pendingBinding } from "../email-change/binding";
import { confirmEmailChange } from "../email-change/pending";
import { clientIp } from "../http/client";
import { ok } from "../http/envelope";
import { AppError } from "../http/errors";
import { enforceRateLimit } from "../http/rate-limit";
import { deliverAfterResponse, linkBase } from "../mail/deliver";
import { takeMailQuota } from "../mail/quota";
import { passwordResetEmail } from "../mail/templates";
import { createRouter } from "../openapi/router";
import { toPublicUser } from "../users/present";
import {
  changePasswordRoute,
  forgotPasswordRoute,
  resendVerificationRoute,
  resetPasswordPageRoute,
  resetPasswordRoute,
  verifyEmailPageRoute,
  verifyEmailRoute,
} from "./email-routes.defs";
import { discardEmailToken, findEmailToken, isBoundTo, issueEmailToken, resetBinding } from "./email-tokens";
import { sessionHoldsInWrite, sessionUser } from "./guard";
import { replacedRows, replacePassword } from "./password-change";
import { sendPasswordChangedNotice } from "./password-changed-notice";
import { wrongPassword } from "./password-proof";
import { assertAcceptablePassword, hashPassword } from "./passwords";
import { accountSuspended } from "./sessions";
import { openSession, tokenResponse } from "./sign-in";
import { proveStepUp } from "./step-up/proof";
import { resetTakingBack } from "./take-back";
import { tokenPage } from "./token-pages";
import { sendVerificationEmail } from "./verification";

const invalidToken = () => new AppError(400, "INVALID_TOKEN", "This link is invalid, has expired or was already used");
const FORGOT_MESSAGE = "If an account exists for that email, a password reset link has been sent to it";

/** The token's account, or undefined (a token may outlive its account). */
const accountOf = (db: Db, id: string) => db.select().from(users).where(eq(users.id, id)).get();

export const emailRoutes = createRouter()
  /**
   * Answers the same body for known and unknown emails, and in the same time:
   * the request path does the same D1 lookup and quota step for both, and
   * everything that happens only for a real account (issuing the token,
   * sending) runs after the response.
   */
  .openapi(forgotPasswordRoute, async (c) => {
    const { email } = c.req.valid("json");
    const { config, db } = c.var;
    await enforceRateLimit(c, "forgot", { email });
    const user = await db.select().from(users).where(eq(users.email, email)).get();
    const withinQuota = await takeMailQuota(c, "reset", email);
    // A suspended account gets no link (it could not be used), yet the same answer: suspension is not disclosed here.
    if (user && withinQuota && user.status === "active") {
      const ttl = config.RESET_TOKEN_TTL;
      deliverAfterResponse(c, { kind: "password_reset", userId: user.id }, async () => {
        const token = await issueEmailToken(c.env.KV, "reset", { userId: user.id, boundTo: resetBinding(user) }, ttl);
        return passwordResetEmail(user.email, `${linkBase(c)}/reset-password?token=${token}`, ttl);
      });
    }
    return ok(c, FORGOT_MESSAGE);
  })

  .openapi(resetPasswordRoute, async (c) => {
    const { token, password } = c.req.valid("json");
    const { config, db } = c.var;
    const ip = clientIp(c);
    await enforceRateLimit(c, "reset");
    const found = await findEmailToken(c.env.KV, "reset", token);
    const user = found && (await accountOf(db, found.userId));
    if (!found || !user || !(await isBoundTo(found, resetBinding(user)))) throw invalidToken();
    // A reset is no way around a suspension; the link stays as it was, and so does the account.
    if (user.status !== "active") throw accountSuspended();
    // Checked before anything is consumed, so a too-weak password leaves the link usable.
    assertAcceptablePassword(password, config.PASSWORD_MIN_LENGTH, user);

    const newHash = await hashPassword(password, config.BCRYPT_COST);
    const change = { userId: user.id, email: user.email, expectedHash: user.passwordHash, newHash };
    // A never-verified account: the link proves the mailbox, so the reset also takes the account back.
    const applied = user.emailVerifiedAt
      ? replacedRows(
          await db.batch(replacePassword(db, { ...change, audit: { action: "password_reset", actorId: user.id, ip } })),
        )
      : await resetTakingBack(db, change, ip);
    await discardEmailToken(c.env.KV, found);
    // Another request with this token changed the password first (or the account changed under the link).
    if (applied.length === 0) throw invalidToken();
    sendPasswordChangedNotice(c, user);
    return ok(c, "Password has been reset; log in with the new password");
  })

  /**
   * N1: the link proves the mailbox, the bearer session proves the account.
   * The token must have been issued for the caller's own account; a token of
   * another account (an owner signed in elsewhere clicking a squatter's link,
   * or a squatter holding the owner's link) gets the answer of an invalid
   * token, so the route tells nobody whose link it is. Every write carries
   * the guard's session condition, so a session ended meanwhile writes nothing.
   */
  .openapi(verifyEmailRoute, async (c) => {
    const { db } = c.var;
    const ip = clientIp(c);
    await enforceRateLimit(c, "verify");
    const found = await findEmailToken(c.env.KV, "verify", c.req.valid("json").token);
    const user = await sessionUser(c);
    if (!found || found.userId !== user.id) throw invalidToken();
    const holds = sessionHoldsInWrite(c);
    const { pendingEmail } = user;
    if (pendingEmail && (await isBoundTo(found, pendingBinding(pendingEmail)))) {
      // The link of a pending email change: confirming it moves the account to the new address.
      const changed = await confirmEmailChange(c, { ...user, pendingEmail }, holds);
      if (!changed) throw invalidToken();
      await discardEmailToken(c.env.KV, found);
      return ok(c, "Email changed", { user: toPublicUser(changed) });
    }
    if (!(await isBoundTo(found, user.email))) throw invalidToken();
    if (user.emailVerifiedAt) {
      await discardEmailToken(c.env.KV, found);
      return ok(c, "Email already verified", { user: toPublicUser(user) });
    }

    // Conditional on the address the token was sent to (an email change racing this request wins) and on the session.
    const unverified = and(eq(users.id, user.id), eq(users.email, user.email), isNull(users.emailVerifiedAt), holds);
    const now = nowIso();
    const [, verified] = await db.batch([
      auditInsertWhere(
        db,
        { action: "email_verified", actorId: user.id, targetId: user.id, ip },
        sql`exists (select 1 from ${users} where ${unverified})`,
      ),
      // Proving the mailbox cancels a pending change asked for before.
      db
        .update(users)
        .set({ emailVerifiedAt: now, pendingEmail: null, pendingEmailExpiresAt: null, updatedAt: now })
        .where(unverified)
        .returning(),
    ]);
    // A parallel use of this token verified first, or the session ended meanwhile: nothing was written.
    if (!verified[0]) throw invalidToken();
    await discardEmailToken(c.env.KV, found);
    return ok(c, "Email verified", { user: toPublicUser(verified[0]) });
  })

  // Takes no body: an `{ email }` naming someone else is refused, not silently ignored.
  .openapi(resendVerificationRoute, async (c) => {
    const { user } = c.var;
    await enforceRateLimit(c, "resend", { email: user.email });
    if (user.emailVerifiedAt) return ok(c, "Email already verified");
    await sendVerificationEmail(c, user);
    return ok(c, "Verification email sent");
  })

  .openapi(changePasswordRoute, async (c) => {
    const { currentPassword, newPassword, code } = c.req.valid("json");
    const { config } = c.var;
    const ip = clientIp(c);
    // Step-up: the password, and with MFA on a code or a recent re-authentication of this session.
    // The guard's check rides in the proof's reservation (requireAuthInWrite): the row is known after it.
    const { stillHolds, send } = await proveStepUp(c, { currentPassword, code }, "password", { deferClear: true });
    const { user } = c.var;
    try {
      assertAcceptablePassword(newPassword, config.PASSWORD_MIN_LENGTH, user, "newPassword");
    } catch (refused) {
      // The proof succeeded: its attempt is given back (and its code used) even though the new password is refused.
      await send([]);
      throw refused;
    }

    // L2: the caller's session is replaced, not kept, so a copy of it (a stolen refresh token) dies with the others.
    // Its factors are what this proof showed: the password, and the TOTP code when one was compared.
    const { session, row } = await openSession(
      c,
      user.id,
      user.mfaEnabledAt && code !== undefined ? ["pwd", "otp"] : ["pwd"],
    );
    // One batch: the proof's clearing first, the replacement carrying the proof's condition, the code's claim last.
    const results = await send([
      ...replacePassword(c.var.db, {
        userId: user.id,
        email: user.email,
        expectedHash: user.passwordHash,
        newHash: await hashPassword(newPassword, config.BCRYPT_COST),
        newSession: row,
        audit: { action: "password_change", actorId: user.id, ip },
        condition: stillHolds,
      }),
    ]);
    const [updated] = replacedRows(results);
    // A concurrent change got there first, so `currentPassword` is no longer current.
    if (!updated) throw wrongPassword();
    sendPasswordChangedNotice(c, updated);
    return ok(
      c,
      "Password changed; every session has been signed out and this one replaced",
      await tokenResponse(config, updated, session.id, session.refreshToken),
    );
  })

  .openapi(resetPasswordPageRoute, (c) => tokenPage(c, "reset"))
  .openapi(verifyEmailPageRoute, (c) => tokenPage(c, "verify"));
