import { type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { users } from "../../db/schema";
import type { AppEnv, AuthUser } from "../../env";
import { AppError } from "../../http/errors";
import { enforceRateLimit } from "../../http/rate-limit";
import { passwordStillHolds } from "../password-proof";
import { emailNotVerified } from "../sessions";
import { proveOnSessionBudget } from "../step-up/proof";
import { verifyStepUpCode } from "./step-up-codes";

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
const emailCodeStillHolds = (user: AuthUser): SQL =>
  sql`${passwordStillHolds(user.id, user.passwordHash)} and exists (select 1 from ${users} where ${users.id} = ${user.id} and ${users.email} = ${user.email} and ${users.hasPassword} = 0)`;

/**
 * An emailed step-up code as proof of presence of the signed-in user (POST
 * /me/reauthenticate `{ emailCode }`). One factor, like a password: with MFA
 * on the caller also proves a TOTP code. Counted on the same failure budget
 * as a password (`proveOnSessionBudget`: 5 failures revoke the session); each
 * code allows 5 tries and is claimed once. Wrong: 401 `INVALID_EMAIL_CODE`,
 * audited as `login_failure`. Returns the condition the caller's write must carry.
 */
export async function proveEmailCode(c: Context<AppEnv>, code: string, endpoint: string): Promise<{ stillHolds: SQL }> {
  const { db, user, sessionId, config } = c.var;
  assertEmailCodeStepUp(user);
  await enforceRateLimit(c, endpoint, { userId: user.id });
  const owner = { userId: user.id, sessionId, email: user.email };
  const stillHolds = emailCodeStillHolds(user);
  await proveOnSessionBudget(c, endpoint, () => verifyStepUpCode({ db, secret: config.JWT_SECRET }, owner, code), {
    stillHolds,
    action: "login_failure",
    refuse: invalidEmailCode,
  });
  return { stillHolds };
}
