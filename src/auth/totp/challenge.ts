import { and, eq, gt, isNotNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import { mfaChallenges, totpCredentials, users } from "../../db/schema";
import { randomToken, sha256Hex } from "../tokens";
import { clock, type MfaDeps } from "./deps";
import { mfaKeys } from "./keys";
import { claimRecoveryCode } from "./recovery-codes";
import { matchSealedCode, recordTotpStep } from "./verify";

export const MFA_CHALLENGE_TTL_SECONDS = 5 * 60;
export const MFA_CHALLENGE_MAX_ATTEMPTS = 5;

/**
 * Issues the login mfaToken after a correct password: 256 random bits, stored
 * only as SHA-256, living 5 minutes, bound to the password hash it was issued
 * against (a password change kills it). The user's expired or spent tokens
 * are swept in the same batch, so the table stays small.
 */
export async function issueMfaChallenge(
  deps: Pick<MfaDeps, "db" | "now">,
  user: { id: string; passwordHash: string },
): Promise<{ mfaToken: string; expiresIn: number }> {
  const { statements, ...issued } = await prepareMfaChallenge(deps, user);
  await deps.db.batch(statements);
  return issued;
}

/** The first step an mfaToken follows (see `mfaChallenges.firstFactor`). */
export type FirstFactor = "pwd" | "email" | "oauth";

/** `issueMfaChallenge` as statements, for a caller that batches them with its own writes (login). */
export async function prepareMfaChallenge(
  deps: Pick<MfaDeps, "db" | "now">,
  user: { id: string; passwordHash: string },
  firstFactor: FirstFactor = "pwd",
) {
  const now = clock(deps);
  const mfaToken = randomToken();
  const statements = [
    deps.db
      .delete(mfaChallenges)
      .where(
        and(
          eq(mfaChallenges.userId, user.id),
          or(
            lte(mfaChallenges.expiresAt, new Date(now).toISOString()),
            sql`${mfaChallenges.attempts} >= ${MFA_CHALLENGE_MAX_ATTEMPTS}`,
          ),
        ),
      ),
    deps.db.insert(mfaChallenges).values({
      tokenHash: await sha256Hex(mfaToken),
      userId: user.id,
      passwordHash: user.passwordHash,
      expiresAt: new Date(now + MFA_CHALLENGE_TTL_SECONDS * 1000).toISOString(),
      firstFactor,
    }),
  ] as const;
  return { mfaToken, expiresIn: MFA_CHALLENGE_TTL_SECONDS, statements };
}

/** The second factor offered with an mfaToken. */
export type MfaProof = { code: string } | { recoveryCode: string };

export type MfaChallengeResult =
  | { ok: true; userId: string; firstFactor: FirstFactor; method: "totp" }
  | { ok: true; userId: string; firstFactor: FirstFactor; method: "recovery_code"; remainingRecoveryCodes: number }
  | { ok: false; reason: "invalid_token" }
  | { ok: false; reason: "invalid_code"; userId: string; attemptsLeft: number };

/** Still usable: not expired, and still bound to the account's current password hash. */
export const liveChallenge = (tokenHash: string, nowIso: string) =>
  and(
    eq(mfaChallenges.tokenHash, tokenHash),
    gt(mfaChallenges.expiresAt, nowIso),
    sql`${mfaChallenges.passwordHash} = (select ${users.passwordHash} from ${users} where ${users.id} = ${mfaChallenges.userId})`,
  );

/**
 * Completes a login's second step. An attempt is reserved on the token
 * (one conditional UPDATE, `attempts < 5`) before any code is compared, so
 * however many guesses run in parallel at most five are ever compared per
 * token. A right factor is claimed atomically (the TOTP step, or the
 * recovery code), then the token is consumed with one conditional DELETE:
 * of parallel completions exactly one returns ok. The caller counts an
 * `invalid_code` toward the account lockout, audits it, and on ok creates
 * the session (and mails the owner when a recovery code was used).
 */
export async function completeMfaChallenge(
  deps: MfaDeps,
  mfaToken: string,
  proof: MfaProof,
): Promise<MfaChallengeResult> {
  const tokenHash = await sha256Hex(mfaToken);
  const nowIso = new Date(clock(deps)).toISOString();
  const { db } = deps;
  const [reserved, credential] = await db.batch([
    db
      .update(mfaChallenges)
      .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
      .where(and(liveChallenge(tokenHash, nowIso), lt(mfaChallenges.attempts, MFA_CHALLENGE_MAX_ATTEMPTS)))
      .returning({ userId: mfaChallenges.userId, attempts: mfaChallenges.attempts }),
    db
      .select({ userId: totpCredentials.userId, secretCiphertext: totpCredentials.secretCiphertext })
      .from(totpCredentials)
      .innerJoin(mfaChallenges, eq(mfaChallenges.userId, totpCredentials.userId))
      .where(and(eq(mfaChallenges.tokenHash, tokenHash), isNotNull(totpCredentials.confirmedAt))),
  ]);
  const attempt = reserved[0];
  const active = credential[0];
  if (!attempt || !active || active.userId !== attempt.userId) return { ok: false, reason: "invalid_token" };
  const { userId } = attempt;

  const consume = (condition?: SQL) =>
    db
      .delete(mfaChallenges)
      .where(and(liveChallenge(tokenHash, nowIso), condition))
      .returning({ firstFactor: mfaChallenges.firstFactor });
  let remainingRecoveryCodes: number | undefined;
  let consumed: { firstFactor: FirstFactor }[];
  if ("code" in proof) {
    const step = await matchSealedCode(deps, userId, active.secretCiphertext, proof.code);
    if (step === null) return failed(userId, attempt.attempts);
    // One batch consumes the token and records the step, both only while the step is unused (the
    // record's own condition): a replay of a spent step leaves the token alive for the right code,
    // as when the two ran one after the other. Nothing runs between them in the batch.
    const [gone, accepted] = await db.batch([
      consume(
        sql`exists (select 1 from ${totpCredentials} where ${totpCredentials.userId} = ${userId} and ${totpCredentials.secretCiphertext} = ${active.secretCiphertext} and ${totpCredentials.confirmedAt} is not null and (${totpCredentials.lastUsedStep} is null or ${totpCredentials.lastUsedStep} < ${step}))`,
      ),
      recordTotpStep(db, userId, active.secretCiphertext, step),
    ]);
    if (accepted.length !== 1) return failed(userId, attempt.attempts);
    consumed = gone;
  } else {
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    const claimed = await claimRecoveryCode(db, recoveryCodeKey, userId, proof.recoveryCode);
    if (!claimed) return failed(userId, attempt.attempts);
    remainingRecoveryCodes = claimed.remaining;
    consumed = await consume();
  }
  const firstFactor = consumed[0]?.firstFactor;
  if (!firstFactor) return { ok: false, reason: "invalid_token" };
  return remainingRecoveryCodes === undefined
    ? { ok: true, userId, firstFactor, method: "totp" }
    : { ok: true, userId, firstFactor, method: "recovery_code", remainingRecoveryCodes };
}

const failed = (userId: string, attempts: number): MfaChallengeResult => ({
  ok: false,
  reason: "invalid_code",
  userId,
  attemptsLeft: Math.max(0, MFA_CHALLENGE_MAX_ATTEMPTS - attempts),
});
