import { and, eq, isNotNull, lt, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { mfaChallenges, totpCredentials, users } from "../../db/schema";
import type { AppError } from "../../http/errors";
import type { Claim } from "../sign-in";
import { sha256Hex } from "../tokens";
import { type FirstFactor, liveChallenge, MFA_CHALLENGE_MAX_ATTEMPTS } from "../totp/challenge";
import { clock, type MfaDeps } from "../totp/deps";
import { recordTotpStep } from "../totp/verify";

/** A live mfaToken with one of its five tries reserved, its owner's address and sealed TOTP secret. */
export type ReservedStep = {
  tokenHash: string;
  userId: string;
  email: string;
  sealed: string;
  firstFactor: FirstFactor;
  /** Tries used on the token, this one included. */
  attempts: number;
  /** The clock the reservation ran at: the claim checks liveness at the same instant. */
  at: string;
};

/**
 * The first round trip of the login's second step: one try is reserved on the
 * mfaToken (one conditional UPDATE, `attempts < 5`, on a live token still
 * bound to the account's password hash) before any code is compared, so
 * however many guesses run in parallel at most five are ever compared per
 * token; the owner's address (for the lockout reservation that follows) and
 * confirmed TOTP secret are read in the same batch. Null for a forged,
 * expired, spent or used-up token, or an account whose MFA went off.
 */
export async function reserveStep(deps: Pick<MfaDeps, "db" | "now">, mfaToken: string): Promise<ReservedStep | null> {
  const { db } = deps;
  const tokenHash = await sha256Hex(mfaToken);
  const at = new Date(clock(deps)).toISOString();
  const [owner, reserved] = await db.batch([
    db
      .select({ userId: users.id, email: users.email, sealed: totpCredentials.secretCiphertext })
      .from(mfaChallenges)
      .innerJoin(users, eq(users.id, mfaChallenges.userId))
      .innerJoin(totpCredentials, eq(totpCredentials.userId, mfaChallenges.userId))
      .where(and(eq(mfaChallenges.tokenHash, tokenHash), isNotNull(totpCredentials.confirmedAt))),
    db
      .update(mfaChallenges)
      .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
      .where(and(liveChallenge(tokenHash, at), lt(mfaChallenges.attempts, MFA_CHALLENGE_MAX_ATTEMPTS)))
      .returning({
        userId: mfaChallenges.userId,
        attempts: mfaChallenges.attempts,
        firstFactor: mfaChallenges.firstFactor,
      }),
  ]);
  const found = owner[0];
  const step = reserved[0];
  if (!found || !step || found.userId !== step.userId) return null;
  return { tokenHash, at, ...found, attempts: step.attempts, firstFactor: step.firstFactor };
}

/** Tries left on the token after this one, for the failure's audit line. */
export const attemptsLeft = (step: ReservedStep) => Math.max(0, MFA_CHALLENGE_MAX_ATTEMPTS - step.attempts);

/** SQL: the TOTP secret the code was matched against is still the account's, and `step` is newer than its last used one. */
const stepUnused = (step: ReservedStep, matched: number): SQL =>
  sql`exists (select 1 from ${totpCredentials} where ${totpCredentials.userId} = ${step.userId} and ${totpCredentials.secretCiphertext} = ${step.sealed} and ${totpCredentials.confirmedAt} is not null and (${totpCredentials.lastUsedStep} is null or ${totpCredentials.lastUsedStep} < ${matched}))`;

/**
 * The mfaToken's claim for the sign-in door's batch (see `Claim`): one
 * conditional DELETE … RETURNING of the live token, then, for a TOTP code,
 * the matched step recorded (`last_used_step` only moves forward). With a
 * code the DELETE also requires the step unused, so a replayed step leaves
 * the token for the right code, and of parallel right codes exactly one
 * batch takes the token. `holds` is the condition the door's writes carry
 * (they run before the claim, while the token is still there to be seen).
 */
export function claimStep(
  deps: Pick<MfaDeps, "db">,
  step: ReservedStep,
  proof: { totpStep: number } | { recoveryCode: true },
  answer: {
    /** The refusal when the batch took nothing. */
    refused: () => AppError;
    /** A write for when nothing is taken (the failure's audit), given that condition; it runs first. */
    missed: (notTaken: SQL) => BatchItem<"sqlite">;
  },
): Claim & { holds: SQL } {
  const { db } = deps;
  const unused = "totpStep" in proof ? stepUnused(step, proof.totpStep) : undefined;
  const live = and(liveChallenge(step.tokenHash, step.at), unused) as SQL;
  const holds = sql`exists (select 1 from ${mfaChallenges} where ${live})`;
  return {
    holds,
    statements: [
      answer.missed(sql`not ${holds}`),
      db.delete(mfaChallenges).where(live).returning({ userId: mfaChallenges.userId }),
      ...("totpStep" in proof ? [recordTotpStep(db, step.userId, step.sealed, proof.totpStep)] : []),
    ],
    taken: ([, gone]) => (gone as unknown[]).length === 1,
    refused: answer.refused,
  };
}
