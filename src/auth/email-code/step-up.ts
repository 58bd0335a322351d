import { type SQL, sql } from "drizzle-orm";
import { users } from "../../db/schema";
import type { AuthUser } from "../../env";
import { AppError } from "../../http/errors";
import { passwordStillHolds } from "../password-proof";
import { emailNotVerified } from "../sessions";

/** Every refused email code, login or step-up, whatever the reason. */
export const invalidEmailCode = () =>
  new AppError(401, "INVALID_EMAIL_CODE", "The code is wrong, has expired or was already used");

/**
 * Who may step up by emailed code: only an account without a password, at a
 * verified address. An account with a password proves presence with it: a
 * mailbox is often the very thing an attacker holding a stolen token also
 * holds (same phish, same laptop), and a second, weaker way past the
 * password would turn "token + mailbox" into a takeover. Throws 403.
 */
export function assertEmailCodeStepUp(user: AuthUser) {
  if (user.hasPassword !== false) {
    throw new AppError(403, "FORBIDDEN", "This account has a password: use it to re-authenticate");
  }
  if (!user.emailVerifiedAt) throw emailNotVerified();
}

/**
 * SQL: the account is still active, still without a password (the hash the
 * guard saw) and still at the address the code went to. The proof's write
 * carries it, so a suspension, a new password or an email change landing
 * meanwhile makes that write a no-op.
 */
export const emailCodeStillHolds = (user: AuthUser): SQL =>
  sql`${passwordStillHolds(user.id, user.passwordHash)} and exists (select 1 from ${users} where ${users.id} = ${user.id} and ${users.email} = ${user.email} and ${users.hasPassword} = 0)`;
