import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { auditInsert, auditInsertWhere } from "../audit/audit";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { clientIp } from "../http/client";
import { AppError } from "../http/errors";
import { type Attempt, SESSION_FAILURE_LIMIT } from "./lockout/failures";
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
