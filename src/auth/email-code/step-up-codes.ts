import { and, eq, gt, lt, lte, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertWhere } from "../../db/insert-where";
import { stepUpCodes } from "../../db/schema";
import { clock, EMAIL_CODE_MAX_ATTEMPTS, EMAIL_CODE_TTL_SECONDS, type EmailCodeDeps } from "./deps";
import { type StepUpCodeOwner, sixDigitCode, stepUpCodeHash } from "./hash";

type IssuedStepUpCode = { code: string; expiresIn: number };
type QuotaGate = { condition: SQL; quota: BatchItem<"sqlite"> & PromiseLike<unknown[]> };

/**
 * Issues a 6-digit step-up code for one session of an account without a
 * password, replacing that session's earlier code (and its attempts); other
 * sessions' codes are untouched, so a thief's session cannot wipe the
 * owner's code. Callers check the account first (no password, verified
 * address) and take the `step_up_code` mail quota: in this batch with
 * `gated` (null when the quota is spent: no code was stored either).
 */
export async function issueStepUpCode(deps: EmailCodeDeps, owner: StepUpCodeOwner): Promise<IssuedStepUpCode>;
export async function issueStepUpCode(
  deps: EmailCodeDeps,
  owner: StepUpCodeOwner,
  gated: QuotaGate,
): Promise<IssuedStepUpCode | null>;
export async function issueStepUpCode(
  deps: EmailCodeDeps,
  owner: StepUpCodeOwner,
  /** With the mail's quota in the same batch: the code is stored only while `condition` holds, and `quota` runs after it. */
  gated?: QuotaGate,
): Promise<IssuedStepUpCode | null> {
  const now = clock(deps);
  const code = sixDigitCode();
  const codeHash = await stepUpCodeHash(deps.secret, owner, code);
  const expiresAt = new Date(now + EMAIL_CODE_TTL_SECONDS * 1000).toISOString();
  const row = { sessionId: owner.sessionId, userId: owner.userId, codeHash, attempts: 0, expiresAt };
  const results = await deps.db.batch([
    deps.db.delete(stepUpCodes).where(lte(stepUpCodes.expiresAt, new Date(now).toISOString())),
    insertWhere(deps.db, stepUpCodes, row, gated?.condition ?? sql`1`).onConflictDoUpdate({
      target: stepUpCodes.sessionId,
      set: { userId: owner.userId, codeHash, attempts: 0, expiresAt },
      setWhere: gated?.condition,
    }),
    ...(gated ? [gated.quota] : []),
  ]);
  // The quota took no send: its condition kept the code out too.
  if (gated && (results[2] as unknown[]).length === 0) return null;
  return { code, expiresIn: EMAIL_CODE_TTL_SECONDS };
}

/**
 * Checks a step-up code of `owner` (the signed-in account and session). Like
 * a login code: an attempt is reserved first (`attempts < 5` on a live code
 * of this very session and account, one conditional UPDATE), so parallel
 * guesses compare at most five times; a right code is then claimed with one
 * DELETE … RETURNING, so of parallel right answers exactly one is true. A
 * login code, another account's code or another session's code never
 * matches: the row is looked up by session and account, and the hash is
 * labelled with both and the purpose.
 */
export async function verifyStepUpCode(deps: EmailCodeDeps, owner: StepUpCodeOwner, code: string): Promise<boolean> {
  const live = and(
    eq(stepUpCodes.sessionId, owner.sessionId),
    eq(stepUpCodes.userId, owner.userId),
    gt(stepUpCodes.expiresAt, new Date(clock(deps)).toISOString()),
  );
  const [reserved] = await deps.db
    .update(stepUpCodes)
    .set({ attempts: sql`${stepUpCodes.attempts} + 1` })
    .where(and(live, lt(stepUpCodes.attempts, EMAIL_CODE_MAX_ATTEMPTS)))
    .returning({ codeHash: stepUpCodes.codeHash });
  if (!reserved || !/^\d{6}$/.test(code)) return false;
  const hash = await stepUpCodeHash(deps.secret, owner, code);
  if (hash !== reserved.codeHash) return false;
  const claimed = await deps.db
    .delete(stepUpCodes)
    .where(and(live, eq(stepUpCodes.codeHash, hash)))
    .returning({ sessionId: stepUpCodes.sessionId });
  return claimed.length === 1;
}

/** `verifyStepUpCode`'s live code of this session and account, as SQL. */
const liveStepUpCode = (deps: Pick<EmailCodeDeps, "now">, owner: Pick<StepUpCodeOwner, "userId" | "sessionId">) =>
  and(
    eq(stepUpCodes.sessionId, owner.sessionId),
    eq(stepUpCodes.userId, owner.userId),
    gt(stepUpCodes.expiresAt, new Date(clock(deps)).toISOString()),
  );

/**
 * `verifyStepUpCode` as statements, for a caller that batches them: the
 * attempt's reservation (`attempts < 5`, carrying `holds`, the caller's
 * session condition, so it can ride with the guard's check), then, after the
 * caller compared the hash, `free` (SQL: the code is still there, unclaimed)
 * for every write it authorises and `claim` (DELETE … RETURNING) sent last
 * in their batch: of parallel right answers only the first batch writes.
 */
export const stepUpCodeStatements = (
  deps: Pick<EmailCodeDeps, "db" | "now">,
  owner: Pick<StepUpCodeOwner, "userId" | "sessionId">,
) => {
  const live = liveStepUpCode(deps, owner);
  return {
    reserve: (holds: SQL) =>
      deps.db
        .update(stepUpCodes)
        .set({ attempts: sql`${stepUpCodes.attempts} + 1` })
        .where(and(live, lt(stepUpCodes.attempts, EMAIL_CODE_MAX_ATTEMPTS), holds))
        .returning({ codeHash: stepUpCodes.codeHash }),
    free: (hash: string) =>
      sql`exists (select 1 from ${stepUpCodes} where ${and(live, eq(stepUpCodes.codeHash, hash))})`,
    claim: (hash: string) =>
      deps.db
        .delete(stepUpCodes)
        .where(and(live, eq(stepUpCodes.codeHash, hash)))
        .returning({ sessionId: stepUpCodes.sessionId }),
  };
};
