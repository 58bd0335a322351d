import { and, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { passkeyCredentials, users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { clientNetwork } from "../../http/client";
import { AppError, tooManyRequests } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { sessionHoldsInWrite } from "../guard";
import { clearFailures, failureScope } from "../lockout/failures";
import { reserveSignedInAttempt } from "../lockout/signed-in";
import { failedProofStatements, overSessionBudget, passwordStillHolds, recordFailedProof } from "../password-proof";
import type { SendWithProof } from "../step-up/inline-proof";
import { passkeyDepsOf } from "./context";
import { assertionStatements, checkSignature, counterMove } from "./login";
import type { AuthenticationResponseJSON } from "./schemas";

/** A passkey assertion that did not verify (one answer for every reason; the audit line keeps the reason). */
export const invalidPasskey = () => new AppError(401, "INVALID_CREDENTIALS", "The passkey could not be verified");

/**
 * SQL: the passkey is still the account's and the account is still active.
 * Every write a passkey proof authorises carries it, so a removal or a
 * suspension landing meanwhile makes that write a no-op.
 */
export const passkeyStillHolds = (userId: string, passkeyId: string): SQL =>
  sql`exists (select 1 from ${passkeyCredentials} inner join ${users} on ${users.id} = ${passkeyCredentials.userId} where ${and(eq(passkeyCredentials.id, passkeyId), eq(passkeyCredentials.userId, userId), eq(users.status, "active"))})`;

/**
 * A passkey as proof of presence of the signed-in user (POST
 * /me/reauthenticate), in two D1 round trips with the route's write, like
 * `proveInline`:
 *
 * 1. One batch: the guard's session check (`requireAuthInWrite`), the
 *    reserved attempt (same failure budget as a password: per email, network
 *    and session; `SESSION_FAILURE_LIMIT` failures revoke the session), the
 *    challenge's claim and the credential's row. The claim and the lookup are
 *    bound to the caller (`assertionStatements`): another account's challenge
 *    or passkey is refused before anything of it is touched. Every write
 *    there carries the guard's condition, so a dead session spends nothing.
 * 2. After the signature check (in the Worker): on failure the failure record
 *    (audit with the reason, the session's revocation at the limit); on
 *    success `send(statements)` sends the route's writes after the clearing
 *    of the attempt, then the counter's conditional UPDATE last. Every one of
 *    them carries `stillHolds`: the session holds, the passkey is still the
 *    account's, the password is unchanged, and the counter is still the one
 *    read. Of parallel assertions with one counter (a cloned authenticator)
 *    exactly one batch finds it unmoved; the others write nothing but the
 *    `counter_regression` audit (and the revocation at the limit) and answer 401.
 *
 * With user verification a passkey is two factors, so no TOTP code is asked
 * for even when MFA is on. The options come from POST /passkeys/login/options.
 */
export async function provePasskey(
  c: Context<AppEnv>,
  proof: { challengeId: string; response: AuthenticationResponseJSON },
  endpoint: string,
): Promise<{ stillHolds: SQL; send: SendWithProof }> {
  const deps = passkeyDepsOf(c);
  const { db, sessionId } = c.var;
  const userId = c.var.user.id;
  const network = clientNetwork(c);
  const holds = sessionHoldsInWrite(c);
  await enforceRateLimit(c, endpoint, { userId });
  const attempt = await reserveSignedInAttempt(
    db,
    { userId, sessionId, network, holds },
    assertionStatements(deps, proof.challengeId, proof.response, { userId, holds }),
  );
  // The batch came back, so the guard's check passed and loaded the row.
  const { user } = c.var;
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  const [claimed, stored] = attempt.also;
  const found = { claimed: claimed[0] ?? null, stored: stored[0] ?? null };
  // Past the session's budget nothing is checked (see `proveInline`).
  const checked = overSessionBudget(attempt) ? null : await checkSignature(deps, found, proof.response);
  if (!checked?.ok) {
    const details = checked && { reason: checked.reason, ...(checked.passkeyId && { passkeyId: checked.passkeyId }) };
    await recordFailedProof(c, userId, attempt, { action: "login_failure", via: endpoint, details: details ?? {} });
    throw invalidPasskey();
  }

  const base = sql`${passkeyStillHolds(userId, checked.passkeyId)} and ${passwordStillHolds(userId, user.passwordHash)} and ${holds}`;
  const moved = counterMove(deps, checked, base);
  const stillHolds = sql`${base} and ${moved.holds}`;
  const scopes = [failureScope.account, failureScope.network(network), failureScope.session(sessionId)];
  const clear = clearFailures(db, user.email, scopes, stillHolds);
  // A parallel use of the same counter moved it first: a cloned authenticator, recorded as a failure.
  const lost = failedProofStatements(
    c,
    userId,
    attempt,
    { action: "login_failure", via: endpoint, details: { reason: "counter_regression", passkeyId: checked.passkeyId } },
    moved.raced,
  );
  const send: SendWithProof = async (statements) => {
    const batch = [clear, ...statements, ...lost, moved.statement] as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
    const results = (await db.batch(batch)) as unknown[];
    if ((results.at(-1) as unknown[]).length !== 1) throw invalidPasskey();
    return results.slice(1, 1 + statements.length);
  };
  return { stillHolds, send };
}
