import { type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { sessions } from "../../db/schema";
import type { AppEnv } from "../../env";
import { clientNetwork } from "../../http/client";
import { AppError, tooManyRequests } from "../../http/errors";
import { clearFailures, failureScope, reserveAttempt } from "../lockout/failures";
import { overSessionBudget, passwordStillHolds, provePassword, recordFailedProof } from "../password-proof";
import { verifyTotpCode } from "../totp/verify";

export const reauthenticationRequired = () =>
  new AppError(
    403,
    "REAUTHENTICATION_REQUIRED",
    "This action needs fresh proof: send currentPassword (and code when MFA is on) or POST /me/reauthenticate first",
  );

export const invalidMfaCode = () => new AppError(401, "INVALID_MFA_CODE", "The code is wrong or was already used");

/** What a sensitive action's body may carry as inline proof. */
export type InlineProof = { currentPassword?: string; code?: string };

/**
 * The session's recent proof as SQL: the row still has the `last_proof_at`
 * the guard loaded, is not revoked, and the password is unchanged since.
 * The write the proof authorises carries it, so a logout or a password
 * change landing meanwhile makes the write a no-op.
 */
const recentProofHolds = (c: Context<AppEnv>, lastProofAt: string): SQL =>
  sql`exists (select 1 from ${sessions} where ${sessions.id} = ${c.var.sessionId} and ${sessions.lastProofAt} = ${lastProofAt} and ${sessions.revokedAt} is null) and ${passwordStillHolds(c.var.user.id, c.var.user.passwordHash)}`;

/** The session proved its user with POST /me/reauthenticate within `STEP_UP_TTL` seconds (a sign-in does not count). */
function recentProof(c: Context<AppEnv>): SQL | undefined {
  const { lastProofAt } = c.var.user;
  if (!lastProofAt) return undefined;
  const fresh = Date.parse(lastProofAt) > Date.now() - c.var.config.STEP_UP_TTL * 1000;
  return fresh ? recentProofHolds(c, lastProofAt) : undefined;
}

/**
 * Step-up: fresh proof of presence before a sensitive action (change email or
 * password, delete the account, turn MFA on or off, new recovery codes, any
 * later sign-in method change). Accepted, in order:
 * - inline: `currentPassword` (through `provePassword`: one failure budget
 *   with login) plus, when MFA is on, `code` (`proveTotpCode`);
 * - recent: this session's `last_proof_at` within `STEP_UP_TTL` seconds (set
 *   only by `POST /me/reauthenticate`, not at sign-in; another session's
 *   proof never counts). A password that was sent is still checked.
 * `codeRequired`: the action also needs a code whatever the recent proof
 * (turning MFA off, new recovery codes).
 * Throws 401 for a wrong password or code, 403 `REAUTHENTICATION_REQUIRED`
 * without proof. Returns the condition the caller's write must carry.
 */
export async function proveStepUp(
  c: Context<AppEnv>,
  inline: InlineProof,
  endpoint: string,
  { codeRequired = false } = {},
): Promise<{ stillHolds: SQL }> {
  const mfaOn = c.var.user.mfaEnabledAt != null;
  const recent = recentProof(c);
  const inlineComplete = inline.currentPassword !== undefined && (!mfaOn || inline.code !== undefined);
  // Refused before anything is checked, so a missing proof spends no password guess and no code.
  if (!inlineComplete && !recent) throw reauthenticationRequired();
  if (mfaOn && codeRequired && inline.code === undefined) throw reauthenticationRequired();
  let stillHolds = recent;
  if (inline.currentPassword !== undefined) {
    const proof = await provePassword(c, c.var.user, inline.currentPassword, endpoint);
    // A recent proof's condition already includes the password's (recentProofHolds).
    stillHolds = inlineComplete || !recent ? proof.stillHolds : recent;
  }
  if (mfaOn && inline.code !== undefined) await proveTotpCode(c, inline.code, endpoint);
  if (!stillHolds) throw reauthenticationRequired();
  return { stillHolds };
}

/**
 * A TOTP code as proof of presence of a signed-in user (see
 * `proveOnSessionBudget`). A code is accepted once (its step is recorded),
 * so a code seen over a shoulder cannot be replayed. Wrong: 401
 * `INVALID_MFA_CODE`, audited as `mfa_failure`.
 */
export async function proveTotpCode(c: Context<AppEnv>, code: string, endpoint: string): Promise<void> {
  const { db, user, config } = c.var;
  await proveOnSessionBudget(c, endpoint, () => verifyTotpCode({ db, config }, user.id, code), {
    stillHolds: passwordStillHolds(user.id, user.passwordHash),
    action: "mfa_failure",
    refuse: invalidMfaCode,
  });
}

/**
 * One code (TOTP, emailed step-up code) checked as proof of presence of a
 * signed-in user. The attempt is counted up front toward the same failure
 * budget as a password (per email, network and session), so parallel guesses
 * cannot overrun it; a right code gives it back (the clearing carries
 * `stillHolds`). Past the session's budget nothing is checked, and the
 * `SESSION_FAILURE_LIMIT`-th failure on one session revokes the session.
 */
export async function proveOnSessionBudget(
  c: Context<AppEnv>,
  endpoint: string,
  check: () => Promise<boolean>,
  outcome: { stillHolds: SQL; action: "login_failure" | "mfa_failure"; refuse: () => AppError },
): Promise<void> {
  const { db, user, sessionId } = c.var;
  const network = clientNetwork(c);
  const attempt = await reserveAttempt(db, { email: user.email, network, sessionId });
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  if (overSessionBudget(attempt) || !(await check())) {
    await recordFailedProof(c, user.id, attempt, { action: outcome.action, via: endpoint });
    throw outcome.refuse();
  }
  const scopes = [failureScope.account, failureScope.network(network), failureScope.session(sessionId)];
  await clearFailures(db, user.email, scopes, outcome.stillHolds);
}
