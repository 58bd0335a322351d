import { createRoute, z } from "@hono/zod-openapi";
import { lazySchema } from "../openapi/lazy-schema";
import { Tokens, User } from "../openapi/resources";
import { failures, html, JSON_BODY, SIGNED_IN, STEP_UP, success } from "../openapi/responses";
import { bearer, requestBody } from "../openapi/router";
import { requireAuthAllowUnverified, requireAuthInWrite } from "./guard";
import { changePasswordBody, forgotBody, noBody, resetBody, verifyBody } from "./schemas";

const tags = ["Authentication"];
const pageTags = ["Emailed link pages"];

export const forgotPasswordRoute = createRoute({
  method: "post",
  path: "/forgot-password",
  tags,
  summary: "Email a password reset link",
  description:
    "The same answer, in the same time, whether or not an account has that email; the email is sent only when it does (at most a few per address per hour).",
  request: { body: requestBody(forgotBody) },
  responses: {
    200: success("Same message for known and unknown emails"),
    ...failures(...JSON_BODY, "TOO_MANY_REQUESTS"),
  },
});

export const resetPasswordRoute = createRoute({
  method: "post",
  path: "/reset-password",
  tags,
  summary: "Set a new password with an emailed reset token",
  description:
    "Every session of the user is revoked, and the account's address is told by email. The token dies the moment the password or the email changes. A suspended account is refused and left unchanged.",
  request: { body: requestBody(resetBody) },
  responses: {
    200: success("Password has been reset"),
    ...failures(...JSON_BODY, "INVALID_TOKEN", "ACCOUNT_SUSPENDED", "TOO_MANY_REQUESTS"),
  },
});

export const verifyEmailRoute = createRoute({
  method: "post",
  path: "/verify-email",
  tags,
  summary: "Verify the email address with an emailed token",
  description:
    "Needs a bearer session of the account the token was issued for (the link proves the mailbox, the session proves the account); another account's session gets the answer of an invalid token. The token of a pending email change moves the account to the new address (verified); `409` if another account took it meanwhile, and nothing changes.",
  security: bearer,
  middleware: [requireAuthAllowUnverified] as const,
  request: { body: requestBody(verifyBody) },
  responses: {
    200: success(
      "Email verified (or changed)",
      lazySchema(() => z.object({ user: User })),
    ),
    ...failures(...SIGNED_IN, ...JSON_BODY, "INVALID_TOKEN", "CONFLICT", "TOO_MANY_REQUESTS"),
  },
});

export const resendVerificationRoute = createRoute({
  method: "post",
  path: "/resend-verification",
  tags,
  summary: "Send the verification email again (no-op when already verified)",
  security: bearer,
  middleware: [requireAuthAllowUnverified] as const,
  request: { body: requestBody(noBody, "No fields: send `{}` or no body at all.") },
  responses: {
    200: success("Verification email sent"),
    ...failures(...SIGNED_IN, ...JSON_BODY, "TOO_MANY_REQUESTS"),
  },
});

export const changePasswordRoute = createRoute({
  method: "post",
  path: "/me/password",
  tags: ["Signed-in user"],
  summary: "Change the password",
  description:
    "Every session of the account is revoked, the caller's own included, and the caller gets a new session: the answer carries its tokens, like /login (`amr`: `pwd`, plus `otp` when a code was checked). A copy of the old session (a stolen refresh token) is cut off at once. The account's address is told by email.",
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { body: requestBody(changePasswordBody) },
  responses: {
    200: success("Password changed; this session replaced", Tokens),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP),
  },
});

export const resetPasswordPageRoute = createRoute({
  method: "get",
  path: "/reset-password",
  tags: pageTags,
  summary: "The page a reset link opens",
  description:
    "A small HTML form that POSTs the token from the address bar and a new password to POST /reset-password. The GET itself reads and consumes nothing.",
  responses: { 200: html("The reset form"), ...failures() },
});

export const verifyEmailPageRoute = createRoute({
  method: "get",
  path: "/verify-email",
  tags: pageTags,
  summary: "The page a verification link opens",
  description:
    "A small HTML page that signs the account holder in (email and password, then a TOTP code when MFA is on) and POSTs the token from the address bar to POST /verify-email with that session. The GET itself reads and consumes nothing.",
  responses: { 200: html("The confirmation page"), ...failures() },
});
