import type { Context } from "hono";
import type { AppEnv, AuthUser } from "../env";
import { AppError } from "../http/errors";
import { enforceRateLimit } from "../http/rate-limit";
import { verifyPassword } from "./passwords";

/**
 * Proof of presence by password for a signed-in user: the one place every
 * "type your current password" check goes through (change password, change
 * email, delete the account), so they all share one failure budget.
 * Throws `401 INVALID_CREDENTIALS` when the password is wrong.
 */
export async function provePassword(
  c: Context<AppEnv>,
  user: Pick<AuthUser, "id" | "passwordHash">,
  password: string,
  endpoint: string,
): Promise<void> {
  await enforceRateLimit(c, endpoint, { userId: user.id });
  if (!(await verifyPassword(password, user.passwordHash))) {
    throw new AppError(401, "INVALID_CREDENTIALS", "Current password is incorrect");
  }
}
