import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { auditInsertWhere } from "../audit/audit";
import type { Db } from "../db/client";
import {
  oauthIdentities,
  oauthLoginCodes,
  oauthStates,
  passkeyCredentials,
  recoveryCodes,
  sessions,
  totpCredentials,
  users,
} from "../db/schema";
import { clearAllFailures } from "./lockout/failures";
import { NO_PASSWORD } from "./sign-in-methods";

/**
 * Deletes, while `condition` holds, everything anyone may have attached to
 * an account before its mailbox was proven: TOTP and recovery codes,
 * passkeys, linked identities and their unredeemed login codes, and OAuth
 * link states targeting the account (an authorizeUrl kept for later would
 * otherwise plant an identity afterwards).
 */
const removeAttached = (db: Db, userId: string, condition: SQL): BatchItem<"sqlite">[] => [
  db.delete(totpCredentials).where(and(eq(totpCredentials.userId, userId), condition)),
  db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), condition)),
  db.delete(passkeyCredentials).where(and(eq(passkeyCredentials.userId, userId), condition)),
  db.delete(oauthIdentities).where(and(eq(oauthIdentities.userId, userId), condition)),
  db.delete(oauthLoginCodes).where(and(eq(oauthLoginCodes.userId, userId), condition)),
  db.delete(oauthStates).where(and(eq(oauthStates.linkUserId, userId), condition)),
];

export type TakeBack = {
  /** Run these first in the caller's batch; the first one (the account's update) returns `{ id }` when it applied. */
  statements: BatchItem<"sqlite">[];
  /** True only after the first statement verified the account in this batch: the condition of every later write. */
  tookBack: SQL;
  /** When the take-back happens (the account's new `email_verified_at`). */
  at: string;
};

/** How the mailbox owner proved themselves, and what the batch checked before deciding. */
export type MailboxProof =
  /** A right email code: the account is left without a password (the owner may not know the squatter's). */
  | { via: "email-code" }
  /**
   * A reset link, bound to the password hash and email it was issued against:
   * the take-back happens only while the account still has `expectedHash`,
   * and the owner's new password (`newHash`) is kept.
   */
  | { via: "reset"; expectedHash: string; newHash: string };

/**
 * Takes a never-verified account back for whoever just proved its mailbox
 * (a right email code, a reset link). The proof says the mailbox owner is
 * here, not that they registered the account: anyone could have signed up
 * with their address first (pre-account takeover) and attached a password,
 * a pending email, TOTP, passkeys or a social identity, started an OAuth
 * link, and kept a session. So the email becomes verified and all of those
 * go: the password (replaced by NO_PASSWORD, or by the owner's new one on a
 * reset), the pending email, TOTP and recovery codes, passkeys, linked
 * identities and their unredeemed login codes, pending OAuth link states
 * targeting the account, and every session; the take-back is audited
 * (`account_reclaimed`, `details.via`).
 *
 * Statements only, for the caller's one batch. The first decides (only this
 * account, still at this address, still unverified, still active, and on a
 * reset still with the hash the link is bound to, changes); every later one
 * carries `tookBack` ("this batch just verified it"), and so must the
 * caller's own writes: a concurrent verification, email change, password
 * change or suspension makes the whole batch a no-op.
 */
export function takeBackAccount(
  db: Db,
  account: { id: string; email: string },
  proof: MailboxProof,
  audit: { ip: string; now: number },
  /** A condition the first statement also needs (an email code's claim, taken later in the same batch). */
  also?: SQL,
): TakeBack {
  const { id: userId, email } = account;
  const at = new Date(audit.now).toISOString();
  const passwordHash = proof.via === "reset" ? proof.newHash : NO_PASSWORD;
  // On a reset the new hash (fresh salt) is unique, so it also tells this batch's write from any other.
  const tookBack: SQL = sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.email} = ${email} and ${users.emailVerifiedAt} = ${at} and ${users.passwordHash} = ${passwordHash} and ${users.status} = 'active')`;
  const statements: BatchItem<"sqlite">[] = [
    db
      .update(users)
      .set({
        emailVerifiedAt: at,
        passwordHash,
        hasPassword: proof.via === "reset",
        pendingEmail: null,
        pendingEmailExpiresAt: null,
        mfaEnabledAt: null,
        updatedAt: at,
      })
      .where(
        and(
          eq(users.id, userId),
          eq(users.email, email),
          isNull(users.emailVerifiedAt),
          eq(users.status, "active"),
          proof.via === "reset" ? eq(users.passwordHash, proof.expectedHash) : undefined,
          also,
        ),
      )
      .returning({ id: users.id }),
    ...removeAttached(db, userId, tookBack),
    db
      .update(sessions)
      .set({ revokedAt: at })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), tookBack)),
    auditInsertWhere(
      db,
      { action: "account_reclaimed", actorId: userId, targetId: userId, ip: audit.ip, details: { via: proof.via } },
      tookBack,
    ),
  ];
  return { statements, tookBack, at };
}

/**
 * POST /reset-password on a never-verified account, as one batch: the
 * take-back (keeping the owner's new password, conditional on the hash and
 * email the link is bound to), the `password_reset` audit and the email's
 * failure counters cleared, all conditional on the take-back. Resolves to the
 * account update's RETURNING rows: empty when nothing applied (the link is
 * stale, or the account was verified, changed or suspended meanwhile).
 */
export async function resetTakingBack(
  db: Db,
  change: { userId: string; email: string; expectedHash: string; newHash: string },
  ip: string,
): Promise<{ id: string }[]> {
  const { userId, email, expectedHash, newHash } = change;
  const takeBack = takeBackAccount(
    db,
    { id: userId, email },
    { via: "reset", expectedHash, newHash },
    { ip, now: Date.now() },
  );
  const [first, ...rest] = takeBack.statements;
  if (!first) throw new Error("take-back without its account update");
  const [applied] = await db.batch([
    first,
    ...rest,
    auditInsertWhere(db, { action: "password_reset", actorId: userId, targetId: userId, ip }, takeBack.tookBack),
    clearAllFailures(db, email, takeBack.tookBack),
  ]);
  return applied as { id: string }[];
}
