import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { passkeyCredentials, users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { clientNetwork } from "../../http/client";
import { AppError, tooManyRequests } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { clearFailures, failureScope, reserveAttempt } from "../lockout/failures";
import { overSessionBudget, passwordStillHolds, recordFailedProof } from "../password-proof";
import { passkeyDepsOf } from "./context";
import { checkAssertion, claimAssertion } from "./login";
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
 * /me/reauthenticate). The options come from POST /passkeys/login/options;
 * the challenge is bound to the caller when it is claimed, so another
 * account's passkey is refused before its counter is touched. The attempt
 * is counted up front on the same failure budget as a password (per email,
 * network and session; `SESSION_FAILURE_LIMIT` failures revoke the session)
 * and given back on success. With user verification a passkey is two
 * factors, so no TOTP code is asked for even when MFA is on.
 * Returns the condition the caller's write must carry.
 */
export async function provePasskey(
  c: Context<AppEnv>,
  proof: { challengeId: string; response: AuthenticationResponseJSON },
  endpoint: string,
): Promise<{ stillHolds: SQL; passkeyId: string }> {
  const deps = passkeyDepsOf(c);
  const { db, user, sessionId } = c.var;
  const network = clientNetwork(c);
  await enforceRateLimit(c, endpoint, { userId: user.id });
  const [attempt, found] = await Promise.all([
    reserveAttempt(db, { email: user.email, network, sessionId }),
    claimAssertion(deps, proof.challengeId, proof.response),
  ]);
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  const bound = { ...found, claimed: found.claimed && { ...found.claimed, userId: user.id } };
  // Past the session's budget nothing is checked (see provePassword).
  const result = overSessionBudget(attempt) ? null : await checkAssertion(deps, bound, proof.response);
  if (!result?.ok) {
    await recordFailedProof(c, user.id, attempt, { action: "login_failure", via: endpoint });
    throw invalidPasskey();
  }
  const stillHolds = sql`${passkeyStillHolds(user.id, result.passkeyId)} and ${passwordStillHolds(user.id, user.passwordHash)}`;
  const scopes = [failureScope.account, failureScope.network(network), failureScope.session(sessionId)];
  await clearFailures(db, user.email, scopes, stillHolds);
  return { stillHolds, passkeyId: result.passkeyId };
}
