import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { oauthIdentities, passkeyCredentials, recoveryCodes, sessions, totpCredentials, users } from "../../db/schema";
import { NO_PASSWORD } from "../sign-in-methods";
import { clock, type EmailCodeDeps } from "./deps";

/**
 * Call after a right email code, before the sign-in door. On an account
 * whose email was never verified, the code proves the mailbox owner is here,
 * not that they registered it: anyone could have signed up with their
 * address first (pre-account takeover) and set a password, a pending email,
 * TOTP or passkeys, and kept a session. So the email becomes verified and
 * every one of those goes: the password (NO_PASSWORD), the pending email,
 * TOTP and recovery codes, passkeys, linked social identities, and all sessions. One batch; the first
 * statement decides (only an unverified account with this address changes),
 * and the others carry "this batch just verified it" as their condition.
 * Returns whether the account was taken back (audit it). A verified account
 * is left as it is.
 */
export async function proveMailboxOwner(
  deps: Pick<EmailCodeDeps, "db" | "now">,
  userId: string,
  email: string,
): Promise<{ tookBack: boolean }> {
  const { db } = deps;
  const nowIso = new Date(clock(deps)).toISOString();
  const justVerified: SQL = sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.emailVerifiedAt} = ${nowIso} and ${users.passwordHash} = ${NO_PASSWORD})`;
  const [verified] = await db.batch([
    db
      .update(users)
      .set({
        emailVerifiedAt: nowIso,
        passwordHash: NO_PASSWORD,
        hasPassword: false,
        pendingEmail: null,
        pendingEmailExpiresAt: null,
        mfaEnabledAt: null,
        updatedAt: nowIso,
      })
      .where(and(eq(users.id, userId), eq(users.email, email.trim()), isNull(users.emailVerifiedAt)))
      .returning({ id: users.id }),
    db.delete(totpCredentials).where(and(eq(totpCredentials.userId, userId), justVerified)),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), justVerified)),
    db.delete(passkeyCredentials).where(and(eq(passkeyCredentials.userId, userId), justVerified)),
    db.delete(oauthIdentities).where(and(eq(oauthIdentities.userId, userId), justVerified)),
    db
      .update(sessions)
      .set({ revokedAt: nowIso })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), justVerified)),
  ]);
  return { tookBack: verified.length === 1 };
}
