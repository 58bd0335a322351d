import { sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { users } from "../db/schema";
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
  const rule = () => {
    if (!c.var.user.emailVerifiedAt) throw emailNotVerified();
  };
  const holds = c.var.sessionHolds;
  // The guard's check is still pending (requireAuthInWrite): the rule rides with it, and the condition the
  // route's writes carry gets it too, so a refused request writes nothing (not even a reserved attempt).
  if (holds && c.var.sessionGate.demand(rule)) {
    c.set(
      "sessionHolds",
      sql`${holds} and exists (select 1 from ${users} where ${users.id} = ${c.var.user.id} and ${users.emailVerifiedAt} is not null)`,
    );
  } else {
    await sessionUser(c);
    rule();
  }
  await next();
});

/** The OpenAPI line of those routes; listed before `SIGNED_IN`, whose wording (the config switch) it replaces. */
export const VERIFIED_EMAIL_REQUIRED = {
  code: "EMAIL_NOT_VERIFIED",
  status: 403,
  when: "The account's email is not verified (always, whatever `REQUIRE_EMAIL_VERIFICATION` says): sign-in methods attach only to verified accounts.",
} as const satisfies FailureSpec;
