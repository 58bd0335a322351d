import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { auditInsert, auditInsertWhere } from "../../audit/audit";
import { nowIso } from "../../db/client";
import { sessions, totpCredentials, users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { clientIp, clientNetwork } from "../../http/client";
import { ok } from "../../http/envelope";
import { AppError, notFound, tooManyRequests, unauthorized, validationError } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { createRouter } from "../../openapi/router";
import { assertEmailCodeStepUp, invalidEmailCode } from "../email-code/step-up";
import { sessionHoldsInWrite } from "../guard";
import { passChallenge } from "../lockout/challenge";
import { clearFailures, failureScope, reserveAttempt } from "../lockout/failures";
import { reserveSignedInAttempt } from "../lockout/signed-in";
import { invalidPasskey, provePasskey } from "../passkeys/step-up";
import { overSessionBudget, passwordStillHolds, recordFailedProof, wrongPassword } from "../password-proof";
import { revokeAllSessions } from "../sessions";
import { completeSignIn } from "../sign-in";
import { proveInline, type SendWithProof } from "../step-up/inline-proof";
import { type InlineProof, invalidMfaCode, proveStepUp } from "../step-up/proof";
import {
  confirmTotpEnrolment,
  disableTotpStatements,
  pendingEnrolmentQuery,
  regenerateRecoveryCodes,
  startTotpEnrolment,
} from "../totp/enrolment";
import { mfaKeys } from "../totp/keys";
import { claimRecoveryCode } from "../totp/recovery-codes";
import { matchSealedCode } from "../totp/verify";
import { attemptsLeft, claimStep, reserveStep } from "./login-step";
import { sendMfaNotice } from "./mail";
import {
  adminResetMfaRoute,
  confirmTotpRoute,
  disableTotpRoute,
  loginMfaRoute,
  reauthenticateRoute,
  regenerateRecoveryCodesRoute,
  startTotpRoute,
} from "./routes.defs";

/**
 * The password (or, for an account without one, an emailed step-up code),
 * and the code when MFA is on: one factor each, so MFA still asks for both.
 * One reserved attempt for all of them, the guard's check riding in its
 * batch (`proveInline`); who may use an email code, and whether a code is
 * missing, is decided on the row it loads, before anything is compared.
 */
function proveKnowledge(
  c: Context<AppEnv>,
  { password, emailCode, code }: { password?: string; emailCode?: string; code?: string },
): Promise<{ stillHolds: SQL; send: SendWithProof }> {
  const parts = emailCode !== undefined ? { emailCode, code } : { password: password ?? "", code };
  return proveInline(c, parts, "reauthenticate", {
    decide: (user) => {
      if (emailCode !== undefined) assertEmailCodeStepUp(user);
      if (user.mfaEnabledAt && code === undefined) {
        throw validationError([{ path: "code", message: "code is required when MFA is on" }]);
      }
      return { password: emailCode === undefined, emailCode: emailCode !== undefined, code: user.mfaEnabledAt != null };
    },
  });
}

const invalidMfaToken = () =>
  new AppError(401, "INVALID_MFA_TOKEN", "The sign-in attempt expired or was already completed; log in again");
const mfaNotOn = () => notFound("MFA");

/**
 * Step-up for turning MFA off and for new recovery codes: a TOTP code whatever
 * the recent proof, and MFA must be on, refused before anything is compared
 * (the reserved attempt is given back).
 */
const proveMfaChange = (c: Context<AppEnv>, inline: InlineProof) =>
  proveStepUp(c, inline, "mfa", {
    codeRequired: true,
    deferClear: true,
    precondition: (user) => {
      if (!user.mfaEnabledAt) throw mfaNotOn();
    },
  });

/** TOTP with recovery codes, the login's second step, step-up, and the admin reset. Services: ../totp/. */
export const mfaRoutes = createRouter()
  .openapi(startTotpRoute, async (c) => {
    const { db, config } = c.var;
    await mfaKeys(config); // 503 before any proof is spent when ENCRYPTION_KEY is missing
    // The guard's check rides in the proof's first batch (requireAuthInWrite); the upsert carries the proof.
    const { stillHolds, send } = await proveStepUp(c, c.req.valid("json"), "mfa", { deferClear: true });
    const started = await startTotpEnrolment({ db, config }, c.var.user, config.APP_NAME, {
      condition: stillHolds,
      send,
    });
    if (!started.ok) throw new AppError(409, "CONFLICT", "MFA is already on; turn it off first");
    return ok(c, "Scan the QR code or type the secret, then confirm with a code", {
      secret: started.secret,
      otpauthUrl: started.otpauthUrl,
      qrSvg: started.qrSvg,
    });
  })

  .openapi(confirmTotpRoute, async (c) => {
    const { db, config } = c.var;
    await enforceRateLimit(c, "mfa", { userId: c.var.user.id });
    const network = clientNetwork(c);
    const holds = sessionHoldsInWrite(c);
    // Counted up front like a password: guessing the pending secret's codes draws on the same budget.
    // The guard's check and the pending secret ride in the reservation's batch (keyed in SQL, carrying
    // the check: requireAuthInWrite); the code is compared only after it.
    const attempt = await reserveSignedInAttempt(
      db,
      { userId: c.var.user.id, sessionId: c.var.sessionId, network, holds },
      [pendingEnrolmentQuery(db, c.var.user.id)],
    );
    const { user } = c.var;
    if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
    // Past the session's budget nothing is compared, as for every other proof (see `proveInline`).
    if (overSessionBudget(attempt)) {
      await recordFailedProof(c, user.id, attempt, { action: "mfa_failure", via: "mfa-confirm" });
      throw invalidMfaCode();
    }
    const stillHolds = passwordStillHolds(user.id, user.passwordHash);
    // Everything a confirm does next rides in its activation's batch, each statement only if the activation landed.
    const confirmed = await confirmTotpEnrolment({ db, config }, user.id, c.req.valid("json").code, {
      loaded: attempt.also[0],
      condition: sql`${stillHolds} and ${holds}`,
      after: (activated) => [
        clearFailures(
          db,
          user.email,
          [failureScope.account, failureScope.network(network), failureScope.session(c.var.sessionId)],
          sql`${stillHolds} and ${activated}`,
        ),
        auditInsertWhere(db, { action: "mfa_enable", actorId: user.id, targetId: user.id, ip: clientIp(c) }, activated),
        // Earlier re-authentications proved the password only: with MFA on, fresh proof needs a code too.
        db
          .update(sessions)
          .set({ lastProofAt: null })
          .where(and(eq(sessions.userId, user.id), activated)),
        // Whoever turns MFA on may suspect someone else is signed in: every other session ends.
        revokeAllSessions(db, user.id, c.var.sessionId, activated),
      ],
    });
    if (!confirmed.ok && confirmed.reason === "no_pending_enrolment") throw notFound("Pending enrolment");
    if (!confirmed.ok) {
      await recordFailedProof(c, user.id, attempt, { action: "mfa_failure", via: "mfa-confirm" });
      throw invalidMfaCode();
    }
    sendMfaNotice(c, user, "enabled");
    return ok(c, "MFA enabled", { recoveryCodes: confirmed.recoveryCodes });
  })

  .openapi(disableTotpRoute, async (c) => {
    const { db } = c.var;
    const { stillHolds, send } = await proveMfaChange(c, c.req.valid("json"));
    const { user } = c.var;
    const [, , , , removed] = await send([
      // The audit first: it is conditional on MFA still being on, which the statements after it end.
      auditInsertWhere(
        db,
        { action: "mfa_disable", actorId: user.id, targetId: user.id, ip: clientIp(c) },
        sql`${stillHolds} and exists (select 1 from ${users} where ${users.id} = ${user.id} and ${users.mfaEnabledAt} is not null)`,
      ),
      ...disableTotpStatements(db, user.id, stillHolds),
    ]);
    // The proof went stale (password changed, logout) or a parallel request turned MFA off first.
    if ((removed as { confirmedAt: string | null }[])[0]?.confirmedAt == null) throw mfaNotOn();
    sendMfaNotice(c, user, "disabled");
    return ok(c, "MFA disabled");
  })

  .openapi(regenerateRecoveryCodesRoute, async (c) => {
    const { db, config } = c.var;
    const { stillHolds, send } = await proveMfaChange(c, c.req.valid("json"));
    const { user } = c.var;
    const audit = (replaced: SQL) => [
      auditInsertWhere(
        db,
        { action: "recovery_codes_regenerated", actorId: user.id, targetId: user.id, ip: clientIp(c) },
        replaced,
      ),
    ];
    const codes = await regenerateRecoveryCodes({ db, config }, user.id, stillHolds, audit, send);
    if (!codes) throw mfaNotOn();
    return ok(c, "Recovery codes replaced", { recoveryCodes: codes });
  })

  /**
   * Sets this session's `last_proof_at` and the `jti` of the access token
   * that proved it (`last_proof_jti`: the proof counts for that token only,
   * M1), conditional on the proof still holding and the session still live: a
   * logout or a password change landing meanwhile leaves the session without
   * fresh proof, and the answer is 401, not 200 (L1).
   */
  .openapi(reauthenticateRoute, async (c) => {
    const { db, config, sessionId, tokenId } = c.var;
    // A token signed before tokens had a `jti` could never use the proof: refresh first (nothing spent).
    if (!tokenId) throw unauthorized("Access token is outdated; refresh it and try again");
    const body = c.req.valid("json");
    const method = "passkey" in body ? "passkey" : "emailCode" in body ? "emailCode" : "password";
    const { stillHolds, send } =
      "passkey" in body ? await provePasskey(c, body.passkey, "reauthenticate") : await proveKnowledge(c, body);
    const { user } = c.var;
    const [proven] = (await send([
      db
        .update(sessions)
        .set({ lastProofAt: nowIso(), lastProofJti: tokenId })
        .where(
          and(eq(sessions.id, sessionId), eq(sessions.userId, user.id), sql`${sessions.revokedAt} is null`, stillHolds),
        )
        .returning({ id: sessions.id }),
      auditInsertWhere(
        db,
        {
          action: "reauthenticate",
          actorId: user.id,
          targetId: user.id,
          ip: clientIp(c),
          details: { method },
        },
        stillHolds,
      ),
    ])) as { id: string }[][];
    if (!proven?.[0]) throw { passkey: invalidPasskey, emailCode: invalidEmailCode, password: wrongPassword }[method]();
    return ok(c, "Re-authenticated", { stepUpExpiresIn: config.STEP_UP_TTL });
  })

  /**
   * The login's second step, in three round trips: a try is reserved on the
   * mfaToken (reading its owner's address and TOTP secret), then the attempt
   * is counted toward the owner's lockout, both before any code is compared
   * (a wrong code costs what a wrong password costs); the right code's token
   * claim and step record ride at the end of the door's batch, after the
   * session and audit that carry "the token is live and the step unused".
   * A recovery code is claimed on its own first (one more round trip).
   */
  .openapi(loginMfaRoute, async (c) => {
    const body = c.req.valid("json");
    const { db, config } = c.var;
    const ip = clientIp(c);
    const network = clientNetwork(c);
    await enforceRateLimit(c, "login-mfa");
    const step = await reserveStep({ db }, body.mfaToken);
    if (!step) throw invalidMfaToken();
    // Per account and network, like /login: strangers guessing codes cannot use up the owner's budget.
    await enforceRateLimit(c, "login-mfa", { email: step.email, network });
    const attempt = await reserveAttempt(db, { email: step.email, network });
    if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
    await passChallenge(c, attempt, { allowed: false });
    const { user } = attempt;
    // The account's email changed between the two reads: nothing proven about this row.
    if (!user || user.id !== step.userId) throw invalidMfaToken();
    const failure = {
      action: "mfa_failure" as const,
      targetId: user.id,
      ip,
      details: { via: "login", attemptsLeft: attemptsLeft(step) },
    };

    let remaining: number | undefined;
    let proof: { totpStep: number } | { recoveryCode: true };
    if (body.code !== undefined) {
      const matched = await matchSealedCode({ db, config }, user.id, step.sealed, body.code);
      if (matched === null) {
        await auditInsert(db, failure);
        throw invalidMfaCode();
      }
      proof = { totpStep: matched };
    } else {
      const { recoveryCodeKey } = await mfaKeys(config);
      const claimed = await claimRecoveryCode(db, recoveryCodeKey, user.id, body.recoveryCode ?? "");
      if (!claimed) {
        await auditInsert(db, failure);
        throw invalidMfaCode();
      }
      remaining = claimed.remaining;
      proof = { recoveryCode: true };
    }
    // A replayed step (or a token a parallel request took) takes nothing: audited in the batch, answered as a wrong code.
    const claim = claimStep({ db }, step, proof, {
      refused: invalidMfaCode,
      missed: (notTaken) => auditInsertWhere(db, failure, notTaken),
    });
    const stillHolds = sql`${passwordStillHolds(user.id, user.passwordHash)} and ${claim.holds}`;
    const method = remaining === undefined ? "totp" : "recovery_code";
    const answer = await completeSignIn(c, {
      user,
      factors: [step.firstFactor, remaining === undefined ? "otp" : "recovery"],
      stillHolds,
      before: [
        clearFailures(db, user.email, [failureScope.account, failureScope.network(network)], stillHolds),
        ...(remaining === undefined
          ? []
          : [
              auditInsertWhere(
                db,
                {
                  action: "recovery_code_used" as const,
                  actorId: user.id,
                  targetId: user.id,
                  ip,
                  details: { remaining },
                },
                stillHolds,
              ),
            ]),
      ],
      details: { via: "login/mfa", method },
      claim,
    });
    if ("mfaRequired" in answer) throw invalidMfaToken(); // unreachable: two factors were proven
    if (remaining !== undefined) sendMfaNotice(c, user, "recovery_code_used", remaining);
    return ok(c, "Login successful", answer);
  })

  /**
   * An admin turns someone's MFA off (they lost their phone and their codes):
   * the credential, codes and sessions go in one batch carrying the admin's
   * checked role, audited as `mfa_reset`, and the owner is told. On one's own
   * id this is the owner's action and needs its step-up.
   */
  .openapi(adminResetMfaRoute, async (c) => {
    const { db, user: actor } = c.var;
    const { id } = c.req.valid("param");
    const self = id === actor.id;
    if (self && !actor.mfaEnabledAt) throw mfaNotOn();
    const proof = self ? await proveStepUp(c, c.req.valid("json"), "mfa", { codeRequired: true }) : undefined;
    const actorHolds = sql`exists (select 1 from ${users} as "actor" where "actor"."id" = ${actor.id} and "actor"."role" = 'admin' and "actor"."status" = 'active')`;
    const condition = proof ? sql`${actorHolds} and ${proof.stillHolds}` : actorHolds;
    // The target is not read first: the revocation and the audit run before the credential goes and
    // only while it is there, so a target without MFA (or none at all) changes nothing.
    const mfaOn = sql`exists (select 1 from ${totpCredentials} where ${totpCredentials.userId} = ${id} and ${totpCredentials.confirmedAt} is not null)`;
    const [, , , , , removed, target] = await db.batch([
      db
        .update(sessions)
        .set({ revokedAt: nowIso() })
        .where(and(eq(sessions.userId, id), sql`${sessions.revokedAt} is null`, condition, mfaOn)),
      auditInsertWhere(
        db,
        { action: "mfa_reset", actorId: actor.id, targetId: id, ip: clientIp(c) },
        sql`${condition} and ${mfaOn}`,
      ),
      ...disableTotpStatements(db, id, condition),
      db.select({ id: users.id, email: users.email }).from(users).where(eq(users.id, id)),
    ]);
    if (removed[0]?.confirmedAt == null) {
      // Only on a miss: tell an unknown user (404 User) from one without MFA (404 MFA), as before.
      if (!target[0]) throw notFound("User");
      throw mfaNotOn();
    }
    if (target[0]) sendMfaNotice(c, target[0], "disabled", undefined, true);
    return ok(c, "MFA reset");
  });
