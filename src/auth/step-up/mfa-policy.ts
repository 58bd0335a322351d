import { inArray, isNotNull, not, or, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import { type Role, users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { AppError } from "../../http/errors";

/**
 * What an account that must enrol can still reach: itself, enrolment, re-authentication, logout,
 * and email verification (enrolment needs a verified email, so verifying must not need enrolment).
 */
const ENROLMENT_PATHS = /^\/(me|me\/mfa(\/.*)?|me\/reauthenticate(\/email-code)?|logout|verify-email)$/;

/**
 * `REQUIRE_MFA_ROLES`: an account in one of those roles without MFA gets
 * `403 MFA_ENROLLMENT_REQUIRED` on every bearer route but the ones it needs
 * to enrol, so a stolen admin password alone never reaches admin power.
 * Runs in the guard on the row it already loaded: no query.
 */
export function assertMfaEnrolled(c: Context<AppEnv>) {
  const { user, config } = c.var;
  if (user.mfaEnabledAt || !config.REQUIRE_MFA_ROLES.includes(user.role)) return;
  if (ENROLMENT_PATHS.test(c.req.path)) return;
  throw new AppError(403, "MFA_ENROLLMENT_REQUIRED", "Your role requires two-step sign-in: enrol at POST /me/mfa/totp");
}

/**
 * `assertMfaEnrolled` as a SQL condition on the `users` row, for a write that
 * carries the guard's check (guard.ts `requireAuthInWrite`): undefined when
 * the policy asks nothing of this route.
 */
export function mfaEnrolledCondition(c: Context<AppEnv>): SQL | undefined {
  const roles = c.var.config.REQUIRE_MFA_ROLES;
  if (roles.length === 0 || ENROLMENT_PATHS.test(c.req.path)) return undefined;
  return or(isNotNull(users.mfaEnabledAt), not(inArray(users.role, roles as Role[])));
}
