import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { auditInsertWhere } from "../../audit/audit";
import type { Db } from "../../db/client";
import {
  oauthIdentities,
  oauthLoginCodes,
  passkeyCredentials,
  recoveryCodes,
  sessions,
  totpCredentials,
  users,
} from "../../db/schema";
import { NO_PASSWORD } from "../sign-in-methods";

export type TakeBack = {
  /** Run these first in the sign-in's batch, before the session is created. */
  statements: BatchItem<"sqlite">[];
  /** True only after the first statement verified the account in this batch: the sign-in's `stillHolds`. */
  tookBack: SQL;
  /** When the take-back happens (the account's new `email_verified_at`). */
  at: string;
};

/**
 * For a right email code on an account whose email was never verified. The
 * code proves the mailbox owner is here, not that they registered the
 * account: anyone could have signed up with their address first (pre-account
 * takeover) and set a password, a pending email, TOTP, passkeys or a social
 * identity, and kept a session. So the email becomes verified and every one
 * of those goes: the password (NO_PASSWORD, `has_password` 0), the pending
 * email, TOTP and recovery codes, passkeys, linked identities and their
 * unredeemed login codes, and all sessions; the take-back is audited.
 *
 * Statements only, for the caller's one batch with the sign-in writes. The
 * first decides (only this account, still at this address and still
 * unverified, changes); every later one carries `tookBack` ("this batch just
 * verified it") as its condition, and so must the session insert: a
 * concurrent verification or email change makes the whole batch a no-op.
 */
export function takeBackAccount(
  db: Db,
  account: { id: string; email: string },
  audit: { ip: string; now: number },
): TakeBack {
  const { id: userId, email } = account;
  const at = new Date(audit.now).toISOString();
  const tookBack: SQL = sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.email} = ${email} and ${users.emailVerifiedAt} = ${at} and ${users.passwordHash} = ${NO_PASSWORD} and ${users.status} = 'active')`;
  const statements: BatchItem<"sqlite">[] = [
    db
      .update(users)
      .set({
        emailVerifiedAt: at,
        passwordHash: NO_PASSWORD,
        hasPassword: false,
        pendingEmail: null,
        pendingEmailExpiresAt: null,
        mfaEnabledAt: null,
        updatedAt: at,
      })
      .where(and(eq(users.id, userId), eq(users.email, email), isNull(users.emailVerifiedAt))),
    db.delete(totpCredentials).where(and(eq(totpCredentials.userId, userId), tookBack)),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), tookBack)),
    db.delete(passkeyCredentials).where(and(eq(passkeyCredentials.userId, userId), tookBack)),
    db.delete(oauthIdentities).where(and(eq(oauthIdentities.userId, userId), tookBack)),
    db.delete(oauthLoginCodes).where(and(eq(oauthLoginCodes.userId, userId), tookBack)),
    db
      .update(sessions)
      .set({ revokedAt: at })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), tookBack)),
    auditInsertWhere(
      db,
      { action: "account_reclaimed", actorId: userId, targetId: userId, ip: audit.ip, details: { via: "email-code" } },
      tookBack,
    ),
  ];
  return { statements, tookBack, at };
}
