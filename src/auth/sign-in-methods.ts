import { type SQL, sql } from "drizzle-orm";
import { oauthIdentities, passkeyCredentials, users } from "../db/schema";

/**
 * Whether an account has a password is `users.has_password` (false for
 * accounts made by social sign-in, and for one whose password was removed
 * when a mailbox owner took back an unverified account). Such an account's
 * `password_hash` is never a password anyone knows: both store NO_PASSWORD,
 * which is no bcrypt hash at all.
 * Password checks must compare such accounts against the dummy hash, like an
 * unknown email (bcrypt refuses "!" at once, which would tell them apart).
 */
export const NO_PASSWORD = "!";

/**
 * SQL: the account `userId` keeps a way to sign in other than the passkey
 * `exceptPasskeyId` (or the social identity `exceptIdentityId`): a password,
 * another passkey or another linked social identity.
 * Carried by the very statement that removes a sign-in method, so two
 * removals racing each other cannot both see "another one remains".
 */
export function otherSignInMethodRemains(userId: string, exceptPasskeyId: string, exceptIdentityId = ""): SQL {
  return sql`(exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.hasPassword} = 1)
    or exists (select 1 from ${passkeyCredentials} where ${passkeyCredentials.userId} = ${userId} and ${passkeyCredentials.id} <> ${exceptPasskeyId})
    or exists (select 1 from ${oauthIdentities} where ${oauthIdentities.userId} = ${userId} and ${oauthIdentities.id} <> ${exceptIdentityId}))`;
}
