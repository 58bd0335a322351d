import { type SQL, sql } from "drizzle-orm";
import { passkeyCredentials, users } from "../db/schema";

/**
 * What `users.password_hash` holds for an account without a password (one
 * that signs in with passkeys or email codes only, or whose password was
 * removed when a mailbox owner took back an unverified account). It is not a
 * bcrypt hash, so no password can ever match it; the column stays NOT NULL.
 */
export const NO_PASSWORD = "!";

/**
 * SQL: the account `userId` keeps a way to sign in other than the passkey
 * `exceptPasskeyId` (a password or another passkey). Carried by the very
 * statement that removes a sign-in method, so two removals racing each other
 * cannot both see "another one remains". When OAuth identities exist they
 * join this list.
 */
export function otherSignInMethodRemains(userId: string, exceptPasskeyId: string | null): SQL {
  const otherPasskey =
    exceptPasskeyId === null
      ? sql`select 1 from ${passkeyCredentials} where ${passkeyCredentials.userId} = ${userId}`
      : sql`select 1 from ${passkeyCredentials} where ${passkeyCredentials.userId} = ${userId} and ${passkeyCredentials.id} <> ${exceptPasskeyId}`;
  return sql`(exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.passwordHash} <> ${NO_PASSWORD}) or exists (${otherPasskey}))`;
}

/**
 * Whether a stored hash is a real password. Password checks must treat
 * NO_PASSWORD like an unknown email (compare against the dummy hash, same
 * failure): bcrypt refuses "!" at once, and that speed would tell an attacker
 * the account has no password.
 */
export const hasPassword = (passwordHash: string) => passwordHash !== NO_PASSWORD;
