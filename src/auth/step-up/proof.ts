import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { sessions } from "../../db/schema";
import type { AppEnv } from "../../env";
import { clientNetwork } from "../../http/client";
import { AppError, tooManyRequests } from "../../http/errors";
import { clearFailures, failureScope, type Ride, reserveAttempt } from "../lockout/failures";
import { overSessionBudget, passwordStillHolds, provePassword, recordFailedProof } from "../password-proof";
import { acceptTotpCode, activeCredentialQuery } from "../totp/verify";

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
 * `deferClear`: the giving back of the proofs' reserved attempts is returned
 * as `clears` (each carrying `stillHolds`) instead of run; the caller MUST
 * put them in its write's batch (one round trip fewer). Otherwise `clears`
 * is empty.
 */
export async function proveStepUp(
  c: Context<AppEnv>,
  inline: InlineProof,
  endpoint: string,
  { codeRequired = false, deferClear = false } = {},
): Promise<{ stillHolds: SQL; clears: BatchItem<"sqlite">[] }> {
  const mfaOn = c.var.user.mfaEnabledAt != null;
  const recent = recentProof(c);
  const inlineComplete = inline.currentPassword !== undefined && (!mfaOn || inline.code !== undefined);
  // Refused before anything is checked, so a missing proof spends no password guess and no code.
  if (!inlineComplete && !recent) throw reauthenticationRequired();
  if (mfaOn && codeRequired && inline.code === undefined) throw reauthenticationRequired();
  let stillHolds = recent;
  // Decided writes not yet sent: each rides in the request's next batch.
  let clears: BatchItem<"sqlite">[] = [];
  if (inline.currentPassword !== undefined) {
    const proof = await provePassword(c, c.var.user, inline.currentPassword, endpoint, { deferClear: true });
    // A recent proof's condition already includes the password's (recentProofHolds).
    stillHolds = inlineComplete || !recent ? proof.stillHolds : recent;
    if (proof.clear) clears = [proof.clear];
  }
  // The password's clearing rides in the code's reservation, run before it as it was before.
  if (mfaOn && inline.code !== undefined) clears = [(await proveTotpCode(c, inline.code, endpoint, clears)).clear];
  if (!deferClear && clears.length > 0) await c.var.db.batch(clears as [BatchItem<"sqlite">]);
  if (!stillHolds) throw reauthenticationRequired();
  return { stillHolds, clears: deferClear ? clears : [] };
}

/**
 * A TOTP code as proof of presence of a signed-in user (see
 * `proveOnSessionBudget`). A code is accepted once (its step is recorded),
 * so a code seen over a shoulder cannot be replayed. Wrong: 401
 * `INVALID_MFA_CODE`, audited as `mfa_failure`. The credential is loaded in
 * the reservation's batch (with `before`, an earlier proof's decided writes);
 * the code is compared only after the attempt was reserved. Returns the
 * clearing of the failures (`clear`), not yet run: the caller MUST send it.
 */
export async function proveTotpCode(
  c: Context<AppEnv>,
  code: string,
  endpoint: string,
  before: BatchItem<"sqlite">[] = [],
): Promise<{ clear: BatchItem<"sqlite"> }> {
  const { db, user, config } = c.var;
  const { clear } = await proveOnSessionBudget(
    c,
    endpoint,
    async (credentials) => {
      const credential = credentials?.[0];
      return (
        !!credential && (await acceptTotpCode({ db, config }, user.id, credential.secretCiphertext, code)) !== null
      );
    },
    { stillHolds: passwordStillHolds(user.id, user.passwordHash), action: "mfa_failure", refuse: invalidMfaCode },
    { ride: { before, also: activeCredentialQuery(db, user.id) }, deferClear: true },
  );
  return { clear: clear as BatchItem<"sqlite"> };
}

/**
 * One code (TOTP, emailed step-up code) checked as proof of presence of a
 * signed-in user. The attempt is counted up front toward the same failure
 * budget as a password (per email, network and session), so parallel guesses
 * cannot overrun it; a right code gives it back (the clearing carries
 * `stillHolds`). Past the session's budget nothing is checked, and the
 * `SESSION_FAILURE_LIMIT`-th failure on one session revokes the session.
 * `ride`: statements sent in the reservation's batch (see `Ride`); `check`
 * gets the rows of `ride.also`. `deferClear`: the clearing is returned, not
 * run, and the caller MUST send it.
 */
export async function proveOnSessionBudget<Also = never>(
  c: Context<AppEnv>,
  endpoint: string,
  check: (also: Also | undefined) => Promise<boolean>,
  outcome: { stillHolds: SQL; action: "login_failure" | "mfa_failure"; refuse: () => AppError },
  { ride, deferClear = false }: { ride?: Ride<Also>; deferClear?: boolean } = {},
): Promise<{ clear?: BatchItem<"sqlite"> }> {
  const { db, user, sessionId } = c.var;
  const network = clientNetwork(c);
  const attempt = await reserveAttempt(db, { email: user.email, network, sessionId }, ride);
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  if (overSessionBudget(attempt) || !(await check(attempt.also))) {
    await recordFailedProof(c, user.id, attempt, { action: outcome.action, via: endpoint });
    throw outcome.refuse();
  }
  const scopes = [failureScope.account, failureScope.network(network), failureScope.session(sessionId)];
  const clear = clearFailures(db, user.email, scopes, outcome.stillHolds);
  // Wrapped: a query builder returned from an async function would be awaited, that is, run.
  if (deferClear) return { clear };
  await clear;
  return {};
}
