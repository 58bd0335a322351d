import { changePasswordBody, forgotBody, resetBody, verifyBody } from "../../auth/email-routes";
import { empty, type Operation, single } from "../operation";

const tag = "Authentication";
const pageTag = "Emailed link pages";

export const emailOperations: Operation[] = [
  {
    method: "post",
    path: "/forgot-password",
    tag,
    summary: "Email a password reset link",
    description:
      "The same answer, in the same time, whether or not an account has that email; the email is sent only when it does (at most a few per address per hour).",
    auth: "none",
    body: forgotBody,
    success: { status: 200, description: "Same message for known and unknown emails", data: empty },
    errors: ["TOO_MANY_REQUESTS"],
  },
  {
    method: "post",
    path: "/reset-password",
    tag,
    summary: "Set a new password with an emailed reset token",
    description: "Every session of the user is revoked. The token dies the moment the password changes.",
    auth: "none",
    body: resetBody,
    success: { status: 200, description: "Password has been reset", data: empty },
    errors: ["INVALID_TOKEN", "TOO_MANY_REQUESTS"],
  },
  {
    method: "post",
    path: "/verify-email",
    tag,
    summary: "Verify the email address with an emailed token",
    auth: "none",
    body: verifyBody,
    success: { status: 200, description: "Email verified", data: single("user", "User") },
    errors: ["INVALID_TOKEN", "TOO_MANY_REQUESTS"],
  },
  {
    method: "post",
    path: "/resend-verification",
    tag,
    summary: "Send the verification email again (no-op when already verified)",
    auth: "bearer",
    success: { status: 200, description: "Verification email sent", data: empty },
    errors: ["TOO_MANY_REQUESTS"],
  },
  {
    method: "post",
    path: "/me/password",
    tag: "Signed-in user",
    summary: "Change the password",
    description: "Every other session is revoked.",
    auth: "bearer",
    body: changePasswordBody,
    success: { status: 200, description: "Password changed", data: empty },
    errors: ["INVALID_CREDENTIALS", "TOO_MANY_REQUESTS", "ACCOUNT_LOCKED"],
  },
  {
    method: "get",
    path: "/reset-password",
    tag: pageTag,
    summary: "The page a reset link opens",
    description:
      "A small HTML form that POSTs the token from the address bar and a new password to POST /reset-password. The GET itself reads and consumes nothing.",
    auth: "none",
    success: { html: "The reset form" },
  },
  {
    method: "get",
    path: "/verify-email",
    tag: pageTag,
    summary: "The page a verification link opens",
    description:
      "A small HTML page with a button that POSTs the token from the address bar to POST /verify-email. The GET itself reads and consumes nothing.",
    auth: "none",
    success: { html: "The confirmation page" },
  },
];
