import { and, eq, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { renderSVG } from "uqr";
import { nowIso } from "../../db/client";
import { insertWhere } from "../../db/insert-where";
import { mfaChallenges, recoveryCodes, totpCredentials, users } from "../../db/schema";
import { newTotpSecret, TOTP_ISSUER, totpKeyUri } from "./codes";
import type { MfaDeps } from "./deps";
import { mfaKeys } from "./keys";
import { hashRecoveryCode, newRecoveryCodes, storeRecoveryCodeSet } from "./recovery-codes";
import { sealTotpSecret } from "./secret-box";
import { matchSealedCode } from "./verify";

export type MfaUser = { id: string; email: string };

export type EnrolmentStart =
  | { ok: true; secret: string; otpauthUrl: string; qrSvg: string }
  | { ok: false; reason: "already_enabled" };

/**
 * Starts (or restarts) TOTP enrolment: a fresh secret, stored encrypted as
 * pending, replacing any pending one in the same upsert. The upsert's
 * `WHERE confirmed_at IS NULL` makes it a no-op when MFA is already on, so a
 * stolen session cannot swap the authenticator of an account that has one.
 * `condition`: what the caller's proof checked, carried by the upsert (both
 * its insert and its update); `send`: how the batch goes to D1 (a step-up
 * proof's `send`, which adds its own statements).
 */
export async function startTotpEnrolment(
  deps: MfaDeps,
  user: MfaUser,
  issuer = TOTP_ISSUER,
  {
    condition,
    send = (statements) => deps.db.batch(statements as [BatchItem<"sqlite">]),
  }: { condition?: SQL; send?: (statements: BatchItem<"sqlite">[]) => Promise<unknown[]> } = {},
): Promise<EnrolmentStart> {
  const { totpSecretKey } = await mfaKeys(deps.config);
  const secret = newTotpSecret();
  const sealed = await sealTotpSecret(totpSecretKey, user.id, secret);
  const row = { userId: user.id, secretCiphertext: sealed, createdAt: nowIso() };
  const [stored] = (await send([
    insertWhere(deps.db, totpCredentials, row, condition ?? sql`1`)
      .onConflictDoUpdate({
        target: totpCredentials.userId,
        set: { secretCiphertext: sealed, lastUsedStep: null, recoverySetId: null, createdAt: nowIso() },
        setWhere: and(isNull(totpCredentials.confirmedAt), condition),
      })
      .returning({ userId: totpCredentials.userId }),
  ])) as { userId: string }[][];
  if (stored?.length !== 1) return { ok: false, reason: "already_enabled" };
  const uri = totpKeyUri(secret, user.email, issuer);
  return { ok: true, ...uri, qrSvg: renderSVG(uri.otpauthUrl) };
}

/** A new set's codes (shown once) with its id and keyed hashes (stored). */
async function prepareRecoveryCodes(deps: MfaDeps, userId: string) {
  const { recoveryCodeKey } = await mfaKeys(deps.config);
  const codes = newRecoveryCodes();
  const hashes = await Promise.all(codes.map((c) => hashRecoveryCode(recoveryCodeKey, userId, c)));
  return { codes, hashes, setId: crypto.randomUUID() };
}

/** The SELECT of a user's pending (unconfirmed) enrolment, for a caller that batches it. */
export const pendingEnrolmentQuery = (db: MfaDeps["db"], userId: string) =>
  db
    .select({ secretCiphertext: totpCredentials.secretCiphertext })
    .from(totpCredentials)
    .where(and(eq(totpCredentials.userId, userId), isNull(totpCredentials.confirmedAt)));

/** True in a statement after the write that pointed `userId`'s credential at recovery set `setId`: set ids are fresh UUIDs, so only that write makes it true. */
const pointedAt = (userId: string, setId: string) =>
  sql`exists (select 1 from ${totpCredentials} where ${totpCredentials.userId} = ${userId} and ${totpCredentials.recoverySetId} = ${setId} and ${totpCredentials.confirmedAt} is not null)`;

/**
 * The caller's statements for the batch of a confirm or a regeneration, built
 * from `applied`: SQL that is true only after this very call's write landed
 * (they run after it in the same transaction). A statement that must happen
 * only on success carries it.
 */
export type AfterWrite = (applied: SQL) => BatchItem<"sqlite">[];

export type EnrolmentConfirm =
  | { ok: true; recoveryCodes: string[] }
  | { ok: false; reason: "no_pending_enrolment" | "invalid_code" };

/**
 * Confirms a pending enrolment with a code from the app. One batch activates
 * the credential only if it is still the pending secret the code was checked
 * against (a restart in between wins), records the code's step so it cannot
 * then be replayed, sets `users.mfa_enabled_at`, and stores 10 recovery codes,
 * returned here once and kept only as keyed hashes. Of parallel confirms
 * exactly one returns codes. `loaded`: the rows of `pendingEnrolmentQuery`
 * when the caller already read them (in its own batch); `after`: the
 * caller's statements for the same batch (see `AfterWrite`); `condition`:
 * what else the activation must still see (the caller's session).
 */
export async function confirmTotpEnrolment(
  deps: MfaDeps,
  userId: string,
  code: string,
  {
    loaded,
    after = () => [],
    condition,
  }: { loaded?: { secretCiphertext: string }[]; after?: AfterWrite; condition?: SQL } = {},
): Promise<EnrolmentConfirm> {
  const [pending] = loaded ?? (await pendingEnrolmentQuery(deps.db, userId));
  if (!pending) return { ok: false, reason: "no_pending_enrolment" };
  const step = await matchSealedCode(deps, userId, pending.secretCiphertext, code);
  if (step === null) return { ok: false, reason: "invalid_code" };

  const set = await prepareRecoveryCodes(deps, userId);
  const now = nowIso();
  const [activated] = await deps.db.batch([
    deps.db
      .update(totpCredentials)
      .set({ confirmedAt: now, lastUsedStep: step, recoverySetId: set.setId })
      .where(
        and(
          eq(totpCredentials.userId, userId),
          isNull(totpCredentials.confirmedAt),
          eq(totpCredentials.secretCiphertext, pending.secretCiphertext),
          condition,
        ),
      )
      .returning({ userId: totpCredentials.userId }),
    deps.db
      .update(users)
      .set({ mfaEnabledAt: now })
      .where(and(eq(users.id, userId), pointedAt(userId, set.setId))),
    ...storeRecoveryCodeSet(deps.db, userId, set.setId, set.hashes),
    ...after(pointedAt(userId, set.setId)),
  ]);
  if (activated.length === 0) return { ok: false, reason: "no_pending_enrolment" };
  return { ok: true, recoveryCodes: set.codes };
}

/**
 * A new set of recovery codes for an account with MFA on; the old set dies in
 * the same batch. Null when MFA is off. The caller proves presence first.
 * `after`: the caller's statements for the same batch (see `AfterWrite`);
 * `send`: how the batch goes to D1 (a step-up proof's `send`).
 */
export async function regenerateRecoveryCodes(
  deps: MfaDeps,
  userId: string,
  condition?: SQL,
  after: AfterWrite = () => [],
  send: (statements: BatchItem<"sqlite">[]) => Promise<unknown[]> = (statements) =>
    deps.db.batch(statements as [BatchItem<"sqlite">]),
): Promise<string[] | null> {
  const set = await prepareRecoveryCodes(deps, userId);
  const [pointed] = (await send([
    deps.db
      .update(totpCredentials)
      .set({ recoverySetId: set.setId })
      .where(and(eq(totpCredentials.userId, userId), isNotNull(totpCredentials.confirmedAt), condition))
      .returning({ userId: totpCredentials.userId }),
    ...storeRecoveryCodeSet(deps.db, userId, set.setId, set.hashes),
    ...after(pointedAt(userId, set.setId)),
  ])) as { userId: string }[][];
  return pointed?.length === 1 ? set.codes : null;
}

/**
 * Turns TOTP off (or drops a pending enrolment): the credential, its recovery
 * codes and any login mfaToken in flight go in one batch, and
 * `users.mfa_enabled_at` is cleared. Returns whether MFA was on. The caller
 * proves presence first (or is an admin resetting it); `condition` is what
 * that proof saw, carried by every statement (no match: nothing changes).
 */
export async function disableTotp(deps: Pick<MfaDeps, "db">, userId: string, condition?: SQL): Promise<boolean> {
  const removed = (await deps.db.batch(disableTotpStatements(deps.db, userId, condition)))[3];
  return removed[0]?.confirmedAt != null;
}

/**
 * `disableTotp` as statements, for a caller that batches them with its own
 * (admin reset, DELETE /me/mfa/totp). The credential goes last: a condition
 * on it (the proof's code step still unused, `totpStepFree`) then holds for
 * every statement before it. Its RETURNING row (index 3) says whether MFA was on.
 */
export const disableTotpStatements = (db: MfaDeps["db"], userId: string, condition?: SQL) =>
  [
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), condition)),
    db.delete(mfaChallenges).where(and(eq(mfaChallenges.userId, userId), condition)),
    db
      .update(users)
      .set({ mfaEnabledAt: null })
      .where(and(eq(users.id, userId), condition)),
    db
      .delete(totpCredentials)
      .where(and(eq(totpCredentials.userId, userId), condition))
      .returning({ confirmedAt: totpCredentials.confirmedAt }),
  ] as const;
