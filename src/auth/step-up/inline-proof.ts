import { and, eq, gt, gte, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { nowIso } from "../../db/client";
import { loginFailures } from "../../db/schema";
import type { AppEnv, AuthUser } from "../../env";
import { clientNetwork } from "../../http/client";
import { AppError, tooManyRequests } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { stepUpCodeHash } from "../email-code/hash";
import { emailCodeStillHolds, invalidEmailCode } from "../email-code/step-up";
import { stepUpCodeStatements } from "../email-code/step-up-codes";
import { sessionHoldsInWrite } from "../guard";
import { passChallenge } from "../lockout/challenge";
import { clearFailures, failureScope, SESSION_FAILURE_LIMIT } from "../lockout/failures";
import { releaseAttempt, reserveSignedInAttempt } from "../lockout/signed-in";
import {
  comparePassword,
  overSessionBudget,
  passwordStillHolds,
  recordFailedProof,
  wrongPassword,
} from "../password-proof";
import { activeCredentialQuery, matchSealedCode, recordTotpStep, totpStepFree } from "../totp/verify";

export const invalidMfaCode = () => new AppError(401, "INVALID_MFA_CODE", "The code is wrong or was already used");

/**
 * SQL: no attempt reserved on this session after ours (still in flight, or
 * recorded) has reached `SESSION_FAILURE_LIMIT`. Such an attempt is a wrong
 * guess (the proof's single-use parts let one right answer through) that
 * ends the session when it is recorded, so a proof landing now would answer
 * 200 for a session about to die (review finding L1): it lands only when
 * nothing of the kind is under way. Read before the clearing in the write's
 * batch (the clearing carries it too), so a cleared counter never hides one.
 * Needed only for proofs without a password (an emailed code, a TOTP code
 * after a recent re-authentication): a password's bcrypt outlasts the wrong
 * guesses past the budget, which are refused without a compare and record
 * their failure (ending the session) first.
 */
const noFailureEndsSession = (email: string, sessionId: string, ours: number): SQL =>
  sql`not exists (select 1 from ${loginFailures} where ${and(
    eq(loginFailures.email, email),
    eq(loginFailures.scope, failureScope.session(sessionId)),
    gt(loginFailures.expiresAt, nowIso()),
    gt(loginFailures.failures, ours),
    gte(loginFailures.failures, SESSION_FAILURE_LIMIT),
  )})`;

/** What a signed-in caller sent as proof: the current password (or an emailed step-up code) and/or an authenticator code. */
export type ProofParts = { password?: string; code?: string; emailCode?: string };

/**
 * Which parts to compare, decided on the row the guard's check loaded (it
 * rides in the reservation's batch, so the row is known only then). Throw to
 * refuse before anything is compared: the reserved attempt is given back.
 */
export type Decide = (user: AuthUser) => { password: boolean; code: boolean; emailCode?: boolean };

/** Sends the route's statements with the proof's own, in one batch, and answers for the proof (see `proveInline`). */
export type SendWithProof = (statements: BatchItem<"sqlite">[]) => Promise<unknown[]>;

export type InlineProven<Also> = {
  /** Every write the proof authorises carries it: session holds, password unchanged, the code's step still unused. */
  stillHolds: SQL;
  send: SendWithProof;
  /** The rows of the caller's `also` reads, from the reservation's batch. */
  also: Also;
};

/**
 * Proof of presence of a signed-in caller, in two D1 round trips with the
 * route's write:
 *
 * 1. One batch: the guard's session check (when still pending, see guard.ts
 *    `requireAuthInWrite`), ONE reserved attempt for the whole proof (password
 *    and code together: either part wrong is one failure, as a wrong password
 *    alone was), the TOTP credential, an emailed step-up code's own attempt
 *    (5 per code) and the caller's `also` reads. The reservation's writes
 *    carry the guard's condition, so a dead session counts nothing.
 * 2. After bcrypt and the code compare: on failure the failure record (audit,
 *    the session's revocation at `SESSION_FAILURE_LIMIT`) and 401; on success
 *    `send(statements)` sends the route's writes with the clearing of the
 *    attempt and the claims of the single-use parts (the TOTP step, the
 *    emailed code).
 *
 * Single use: every statement of the route carries `stillHolds`, which
 * includes "the step is not used yet" (and "the emailed code is unclaimed"), and the claims run last, so of
 * parallel requests with one code only the first batch writes anything; a
 * probe at the head of the batch tells the others, which answer 401
 * `INVALID_MFA_CODE` and record their failure (a third round trip, only for
 * a request that lost that race). `deferred: false`: the clearing and the
 * claim are sent now (the second round trip) and `stillHolds` leaves the
 * step out, for a caller whose write follows later.
 */
export async function proveInline<Also extends unknown[] = []>(
  c: Context<AppEnv>,
  parts: ProofParts,
  endpoint: string,
  {
    decide,
    also = [] as never,
    deferred = true,
  }: {
    decide: Decide;
    also?: { [K in keyof Also]: BatchItem<"sqlite"> & PromiseLike<Also[K]> };
    deferred?: boolean;
  },
): Promise<InlineProven<Also>> {
  const { db, sessionId } = c.var;
  const userId = c.var.user.id;
  const network = clientNetwork(c);
  if (parts.password !== undefined || parts.emailCode !== undefined) await enforceRateLimit(c, endpoint, { userId });
  const credential = parts.code !== undefined ? [activeCredentialQuery(db, userId)] : [];
  // An emailed code's own attempt (5 per code) is reserved in the same batch, carrying the session check too.
  const emailCode = stepUpCodeStatements({ db }, { userId, sessionId });
  const emailCodeRead = parts.emailCode !== undefined ? [emailCode.reserve(sessionHoldsInWrite(c))] : [];
  const attempt = await reserveSignedInAttempt(db, { userId, sessionId, network, holds: sessionHoldsInWrite(c) }, [
    ...credential,
    ...emailCodeRead,
    ...also,
  ] as never);
  // The batch came back, so the guard's check passed and loaded the row.
  const { user } = c.var;
  let compare: ReturnType<Decide>;
  try {
    compare = decide(user);
  } catch (refused) {
    await releaseAttempt(db, userId, attempt.counted);
    throw refused;
  }
  if (attempt.lockedForSeconds > 0) throw tooManyRequests(attempt.lockedForSeconds, "ACCOUNT_LOCKED");
  const loaded = [...(attempt.also as unknown[])];
  const [sealed] = (parts.code !== undefined ? loaded.shift() : []) as { secretCiphertext: string }[];
  const [mailed] = (parts.emailCode !== undefined ? loaded.shift() : []) as { codeHash: string }[];
  const callerRows = loaded as unknown as Also;

  type Failure = "login_failure" | "mfa_failure" | "email_code";
  const fail = async (failure: Failure) => {
    const action = failure === "mfa_failure" ? "mfa_failure" : "login_failure";
    await recordFailedProof(c, userId, attempt, { action, via: endpoint });
    return { login_failure: wrongPassword, mfa_failure: invalidMfaCode, email_code: invalidEmailCode }[failure]();
  };
  const firstFactor: Failure = compare.emailCode ? "email_code" : compare.password ? "login_failure" : "mfa_failure";
  // Past the session's budget nothing is compared: parallel guesses on one stolen token get
  // SESSION_FAILURE_LIMIT compares between them, not one each.
  if (overSessionBudget(attempt)) throw await fail(firstFactor);
  // Single-use parts (an emailed code, a TOTP step): free while unclaimed, claimed last in the write's batch.
  const singleUse: { free: SQL; claim: BatchItem<"sqlite">; lost: Failure }[] = [];
  if (compare.emailCode) {
    const owner = { userId, sessionId, email: user.email };
    const hash = await stepUpCodeHash(c.var.config.JWT_SECRET, owner, parts.emailCode ?? "");
    if (!mailed || !/^\d{6}$/.test(parts.emailCode ?? "") || hash !== mailed.codeHash) throw await fail("email_code");
    singleUse.push({ free: emailCode.free(hash), claim: emailCode.claim(hash), lost: "email_code" });
  }
  if (compare.password) {
    const delayMs = await passChallenge(c, attempt, { allowed: false });
    if (!(await comparePassword(c, parts.password ?? "", user.passwordHash, delayMs)))
      throw await fail("login_failure");
  }
  let step: number | null = null;
  if (compare.code) {
    step = sealed
      ? await matchSealedCode({ db, config: c.var.config }, userId, sealed.secretCiphertext, parts.code ?? "")
      : null;
    if (step === null) throw await fail("mfa_failure");
  }

  if (step !== null && sealed) {
    singleUse.push({
      free: totpStepFree(userId, sealed.secretCiphertext, step),
      claim: recordTotpStep(db, userId, sealed.secretCiphertext, step),
      lost: "mfa_failure",
    });
  }

  const base = and(
    passwordStillHolds(userId, user.passwordHash),
    compare.emailCode ? emailCodeStillHolds(user) : undefined,
    sessionHoldsInWrite(c),
    // Only where no bcrypt runs: a fast right answer could land before the wrong ones' record (see above).
    compare.password ? undefined : noFailureEndsSession(user.email, sessionId, attempt.sessionFailures),
  ) as SQL;
  const stillHolds = and(base, ...singleUse.map((part) => part.free)) as SQL;
  const scopes = [failureScope.account, failureScope.network(network), failureScope.session(sessionId)];
  // Nothing compared (a recent re-authentication sufficed): the attempt is given back, not cleared.
  const clear =
    compare.password || compare.code || compare.emailCode
      ? clearFailures(db, user.email, scopes, stillHolds)
      : releaseAttempt(db, userId, attempt.counted);
  const probe =
    singleUse.length > 0
      ? [
          db
            .select(Object.fromEntries(singleUse.map((part, i) => [`free${i}`, sql<number>`${part.free}`])))
            .from(sql`(select 1)`),
        ]
      : [];
  const claims = singleUse.map((part) => part.claim);

  const send: SendWithProof = async (statements) => {
    const batch = [...probe, clear, ...statements, ...claims] as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
    const results = (await db.batch(batch)) as unknown[];
    const [free] = (probe.length > 0 ? results[0] : [{}]) as Record<string, number>[];
    const lost = singleUse.find((_, i) => !free?.[`free${i}`]);
    if (probe.length > 0 && lost) throw await fail(lost.lost);
    return results.slice(probe.length + 1, probe.length + 1 + statements.length);
  };
  if (deferred) return { stillHolds, send, also: callerRows };
  await send([]);
  return { stillHolds: base, send: (statements) => db.batch(statements as [BatchItem<"sqlite">]), also: callerRows };
}
