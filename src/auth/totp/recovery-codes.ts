import { encodeHexLowerCase } from "@oslojs/encoding";
import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { recoveryCodes, totpCredentials } from "../../db/schema";

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet: no i, l, o, u, so a code read aloud or off paper is not misread. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** 12 characters of 5 bits: 60 bits each, shown as `xxxx-xxxx-xxxx`. */
const CODE_CHARS = 12;

/** Ten fresh codes, in the form shown to the user once. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = crypto.getRandomValues(new Uint8Array(CODE_CHARS));
    const chars = [...bytes].map((b) => ALPHABET[b & 31]).join("");
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
  });
}

/** Case, dashes and spaces do not matter, and the letters Crockford folds read as their digits. */
export const normalizeRecoveryCode = (code: string) =>
  code.toLowerCase().replace(/[\s-]/g, "").replace(/[il]/g, "1").replace(/o/g, "0");

/**
 * Recovery codes are stored as HMAC-SHA-256 under a key derived from
 * ENCRYPTION_KEY, over the owner's id and the code: a database leak alone
 * cannot even be brute-forced offline, and a hash copied to another user
 * matches nothing.
 */
export async function hashRecoveryCode(key: CryptoKey, userId: string, code: string): Promise<string> {
  const data = new TextEncoder().encode(`${userId}:${normalizeRecoveryCode(code)}`);
  return encodeHexLowerCase(new Uint8Array(await crypto.subtle.sign("HMAC", key, data)));
}

/** The credential's live set id, as SQL: codes of any other set are dead. */
const liveSetOf = (userId: string) =>
  sql`(select ${totpCredentials.recoverySetId} from ${totpCredentials} where ${totpCredentials.userId} = ${userId} and ${totpCredentials.confirmedAt} is not null)`;

/**
 * Statements (for one `db.batch` after the statement that points the
 * credential at `setId`) that store a set and then drop every set the
 * credential does not name. When the pointer update lost a race (MFA turned
 * off, or a concurrent regeneration landed later), this batch's own rows are
 * dropped in the same transaction, so sets never mix.
 */
export function storeRecoveryCodeSet(db: Db, userId: string, setId: string, hashes: string[]) {
  return [
    db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ codeHash, userId, setId }))),
    db
      .delete(recoveryCodes)
      .where(sql`${recoveryCodes.userId} = ${userId} and ${recoveryCodes.setId} is not ${liveSetOf(userId)}`),
  ] as const;
}

/**
 * Claims a recovery code: one `DELETE … RETURNING` of a code in the live set,
 * batched with the count of what remains. Of parallel uses of one code exactly
 * one gets a row back. Returns how many codes remain, or null when the code
 * is wrong, used, or from a replaced set.
 */
export async function claimRecoveryCode(
  db: Db,
  key: CryptoKey,
  userId: string,
  code: string,
): Promise<{ remaining: number } | null> {
  const codeHash = await hashRecoveryCode(key, userId, code);
  const [claimed, left] = await db.batch([
    db
      .delete(recoveryCodes)
      .where(
        and(
          eq(recoveryCodes.codeHash, codeHash),
          eq(recoveryCodes.userId, userId),
          sql`${recoveryCodes.setId} = ${liveSetOf(userId)}`,
        ),
      )
      .returning({ codeHash: recoveryCodes.codeHash }),
    db
      .select({ n: sql<number>`count(*)` })
      .from(recoveryCodes)
      .where(and(eq(recoveryCodes.userId, userId), sql`${recoveryCodes.setId} = ${liveSetOf(userId)}`)),
  ]);
  return claimed.length === 1 ? { remaining: Number(left[0]?.n ?? 0) } : null;
}

/** How many unused codes the live set still has. */
export async function remainingRecoveryCodes(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(recoveryCodes)
    .innerJoin(totpCredentials, eq(totpCredentials.userId, recoveryCodes.userId))
    .where(
      and(
        eq(recoveryCodes.userId, userId),
        isNotNull(totpCredentials.confirmedAt),
        eq(recoveryCodes.setId, totpCredentials.recoverySetId),
      ),
    );
  return Number(row?.n ?? 0);
}
