import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import type { FailureSpec } from "../openapi/responses";
import { sessionUser } from "./guard";
import { emailNotVerified } from "./sessions";

/**
 * After `requireAuth`, on the routes that attach a sign-in method (passkey
 * options and registration, TOTP enrolment and its confirmation, the start of
 * an identity link): `403 EMAIL_NOT_VERIFIED` while the account's email is
 * unverified, whatever `REQUIRE_EMAIL_VERIFICATION` says. Until the mailbox
 * is proven, the account may belong to whoever typed the address first
 * (pre-account takeover); a method attached then would outlive the owner's
 * take-back by reset link or email code. Runs before the body is read, so no
 * step-up proof is spent on a refused request.
 */
export const requireVerifiedEmail = createMiddleware<AppEnv>(async (c, next) => {
  const user = await sessionUser(c);
  if (!user.emailVerifiedAt) throw emailNotVerified();
  await next();
});

/** The OpenAPI line of those routes; listed before `SIGNED_IN`, whose wording (the config switch) it replaces. */
export const VERIFIED_EMAIL_REQUIRED = {
  code: "EMAIL_NOT_VERIFIED",
  status: 403,
  when: "The account's email is not verified (always, whatever `REQUIRE_EMAIL_VERIFICATION` says): sign-in methods attach only to verified accounts.",
} as const satisfies FailureSpec;
