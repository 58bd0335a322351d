import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { totpCredentials } from "../../db/schema";
import { AppError } from "../../http/errors";
import { matchTotpStep } from "./codes";
import { clock, type MfaDeps } from "./deps";
import { mfaKeys } from "./keys";
import { openTotpSecret } from "./secret-box";

/** A stored secret that does not open means ENCRYPTION_KEY changed (or the row was tampered with): refuse, loudly. */
export const unreadableSecret = () =>
  new AppError(503, "MISCONFIGURED", "Server misconfigured: ENCRYPTION_KEY does not open the stored MFA secrets");

/** The step `code` matches (±1 step of now) for a sealed secret, or null. Nothing is recorded. */
export async function matchSealedCode(deps: MfaDeps, userId: string, sealed: string, code: string) {
  const { totpSecretKey } = await mfaKeys(deps.config);
  const secret = await openTotpSecret(totpSecretKey, userId, sealed);
  if (!secret) throw unreadableSecret();
  return matchTotpStep(secret, code, clock(deps));
}

/**
 * Accepts `code` for a confirmed credential as loaded (`sealed`): matches it
 * within ±1 step, then records the step with one conditional UPDATE that only
 * moves `last_used_step` forward, and only while the row still holds the
 * secret the code was checked against. Of parallel replays of one code
 * exactly one gets the row back; a code of the same or an earlier step than
 * the last accepted one is refused. Returns the accepted step or null.
 */
export async function acceptTotpCode(deps: MfaDeps, userId: string, sealed: string, code: string) {
  const step = await matchSealedCode(deps, userId, sealed, code);
  if (step === null) return null;
  const accepted = await recordTotpStep(deps.db, userId, sealed, step);
  return accepted.length === 1 ? step : null;
}

/**
 * The conditional UPDATE of `acceptTotpCode` for a step already matched, for
 * a caller that batches it (it returns a row only when it accepted the step).
 */
export const recordTotpStep = (db: Db, userId: string, sealed: string, step: number) =>
  db
    .update(totpCredentials)
    .set({ lastUsedStep: step })
    .where(
      and(
        eq(totpCredentials.userId, userId),
        eq(totpCredentials.secretCiphertext, sealed),
        isNotNull(totpCredentials.confirmedAt),
        sql`(${totpCredentials.lastUsedStep} is null or ${totpCredentials.lastUsedStep} < ${step})`,
      ),
    )
    .returning({ userId: totpCredentials.userId });

/**
 * True while the confirmed credential still holds `sealed` and `step` is not
 * used yet: the condition every write authorised by a code carries when the
 * step's claim (`recordTotpStep`) is sent after it in the same batch, so of
 * parallel requests with one code only the first batch writes anything.
 */
export const totpStepFree = (userId: string, sealed: string, step: number) =>
  sql`exists (select 1 from ${totpCredentials} where ${and(
    eq(totpCredentials.userId, userId),
    eq(totpCredentials.secretCiphertext, sealed),
    isNotNull(totpCredentials.confirmedAt),
  )} and (${totpCredentials.lastUsedStep} is null or ${totpCredentials.lastUsedStep} < ${step}))`;

/** The SELECT of a user's confirmed credential (no row when MFA is off), for a caller that batches it. */
export const activeCredentialQuery = (db: Db, userId: string) =>
  db
    .select({ secretCiphertext: totpCredentials.secretCiphertext })
    .from(totpCredentials)
    .where(and(eq(totpCredentials.userId, userId), isNotNull(totpCredentials.confirmedAt)));

/** The confirmed credential of a user, or undefined when MFA is off. */
export const activeCredential = async (db: Db, userId: string) => (await activeCredentialQuery(db, userId))[0];

/**
 * Proof of presence with an authenticator code for a signed-in user (step-up,
 * disabling MFA, new recovery codes). True once per code; false for a wrong,
 * replayed or out-of-window code, or when MFA is off.
 */
export async function verifyTotpCode(deps: MfaDeps, userId: string, code: string): Promise<boolean> {
  const credential = await activeCredential(deps.db, userId);
  if (!credential) return false;
  return (await acceptTotpCode(deps, userId, credential.secretCiphertext, code)) !== null;
}
