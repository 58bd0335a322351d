import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { auditInsert, auditInsertWhere } from "../audit/audit";
import { users } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { clientIp, clientNetwork } from "../http/client";
import { AppError, tooManyRequests } from "../http/errors";
import { enforceRateLimit } from "../http/rate-limit";
import { passChallenge } from "./lockout/challenge";
import { type Attempt, clearFailures, failureScope, reserveAttempt, SESSION_FAILURE_LIMIT } from "./lockout/failures";
import { hashCost, verifyPassword } from "./passwords";
import { revokeSession } from "./sessions";

/**
 * True while the user still exists, is active and has the password hash a
 * check saw. Every write that follows a bcrypt compare carries it (in its
 * WHERE, or in the batch's other statements), so a password change, reset,
 * suspension or deletion that lands while bcrypt runs makes the write a no-op.
 */
export const passwordStillHolds = (userId: string, passwordHash: string): SQL =>
  sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.passwordHash} = ${passwordHash} and ${users.status} = 'active')`;

export type PasswordProof = {
  /** Put this in the write the proof authorises (see `passwordStillHolds`); no match means answer 401. */
  stillHolds: SQL;
  /**
   * With `deferClear` only: the giving back of the reserved attempt (carrying
   * `stillHolds`), not yet run. The caller MUST send it in its next batch.
   */
  clear?: BatchItem<"sqlite">;
};

/**
 * The bcrypt compare of every password check, login's included. The request
 * log records its cost only once it has run, so a test can tell that an
 * unknown email really cost a compare (test/security/lockout.test.ts).
 */
export async function comparePassword(c: Context<AppEnv>, password: string, hash: string, delayMs: number) {
  const ok = await verifyPassword(password, hash);
  c.set("passwordCheck", { bcryptCost: hashCost(hash), delayMs });
  return ok;
}

/** This session has used up its wrong proofs (`SESSION_FAILURE_LIMIT`): compare nothing more. */
export const overSessionBudget = (attempt: Pick<Attempt, "sessionFailures">) =>
  attempt.sessionFailures > SESSION_FAILURE_LIMIT;

/**
 * A wrong proof (password or code) of a signed-in user: audited with the
 * route it came through; the `SESSION_FAILURE_LIMIT`-th on one session
 * revokes that session, so whoever holds a stolen token cannot keep guessing.
 */
export async function recordFailedProof(
  c: Context<AppEnv>,
  userId: string,
  attempt: Pick<Attempt, "sessionFailures">,
  failure: FailedProof,
) {
  const [audit, ...revoke] = failedProofStatements(c, userId, attempt, failure);
  if (revoke.length > 0) await c.var.db.batch([audit, ...revoke]);
  else await audit;
}

type FailedProof = { action: "login_failure" | "mfa_failure"; via: string; details?: Record<string, unknown> };

/**
 * The statements of `recordFailedProof`, unexecuted, for a failure found only
 * inside a batch (a passkey counter that lost a race): each also needs
 * `condition`, so they land exactly when the failure happened.
 */
export function failedProofStatements(
  c: Context<AppEnv>,
  userId: string,
  attempt: Pick<Attempt, "sessionFailures">,
  failure: FailedProof,
  condition?: SQL,
): [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] {
  const { db, sessionId } = c.var;
  const revoke = attempt.sessionFailures >= SESSION_FAILURE_LIMIT;
  const entry = {
    action: failure.action,
    actorId: userId,
    targetId: userId,
    ip: clientIp(c),
    details: { via: failure.via, sessionId, ...failure.details, ...(revoke && { sessionRevoked: true }) },
  };
  const audit = condition ? auditInsertWhere(db, entry, condition) : auditInsert(db, entry);
  return revoke ? [audit, revokeSession(db, userId, sessionId, undefined, condition)] : [audit];
}

/** A wrong (or stale) current password of a signed-in user. */
export const wrongPassword = () => new AppError(401, "INVALID_CREDENTIALS", "Current password is incorrect");

/**
 * Proof of presence by password for a signed-in user: the one place every
 * "type your current password" check goes through (change password, change
 * email, delete the account). Each check draws on the same failure budget as
 * login (per email, per network, slowed down past the account threshold), is
 * rate-limited per account and endpoint, and a failure is audited as
 * `login_failure` with `via: endpoint`. `SESSION_FAILURE_LIMIT` failures on one
 * session revoke it: whoever holds a stolen token cannot keep guessing.
 *
 * Throws `401 INVALID_CREDENTIALS` when the password is wrong and `429
 * ACCOUNT_LOCKED` when this network has no failures left for the account.
 * Returns the condition the caller's write must carry. `deferClear`: the
 * clearing of the failures is returned (`clear`) instead of run, for the
 * caller to send with its next statements (one round trip fewer).
 */
export async function provePassword(
  c: Context<AppEnv>,
  user: Pick<AuthUser, "id" | "email" | "passwordHash">,
  password: string,
  endpoint: string,
  { deferClear = false } = {},
): Promise<PasswordProof> {
  const { db, sessionId } = c.var;
  const network = clientNetwork(c);
  await enforceRateLimit(c, endpoint, { userId: user.id });
  const attempt = await reserveAttempt(db, { email: user.email, network, sessionId });
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  const delayMs = await passChallenge(c, attempt, { allowed: false });
  const stillHolds = passwordStillHolds(user.id, user.passwordHash);
  // Past the session's budget nothing is compared: parallel guesses on one stolen token get
  // SESSION_FAILURE_LIMIT compares between them, not one each.
  const overBudget = overSessionBudget(attempt);
  if (overBudget || !(await comparePassword(c, password, user.passwordHash, delayMs))) {
    await recordFailedProof(c, user.id, attempt, { action: "login_failure", via: endpoint });
    throw wrongPassword();
  }
  const scopes = [failureScope.account, failureScope.network(network), failureScope.session(sessionId)];
  const clear = clearFailures(db, user.email, scopes, stillHolds);
  if (deferClear) return { stillHolds, clear };
  await clear;
  return { stillHolds };
}
