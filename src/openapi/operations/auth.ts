import { loginBody, logoutBody, refreshBody, registerBody } from "../../auth/schemas";
import { component, empty, type Operation, single } from "../operation";

const tag = "Authentication";

export const authOperations: Operation[] = [
  {
    method: "post",
    path: "/register",
    tag,
    summary: "Create an account",
    description:
      "The password must be at least `PASSWORD_MIN_LENGTH` characters (default 12), at most 72 UTF-8 bytes, not a common password and not the email or username. A verification email is sent.",
    auth: "none",
    body: registerBody,
    success: { status: 201, description: "Registration successful", data: single("user", "User") },
    errors: ["CONFLICT", "TOO_MANY_REQUESTS"],
  },
  {
    method: "post",
    path: "/login",
    tag,
    summary: "Log in and get an access and a refresh token",
    description:
      "Failures are counted per email and client network: ten from one network lock that network out of the email for 15 minutes (`ACCOUNT_LOCKED`). Past ten on the email from all networks, attempts are slowed down, or, when Turnstile is configured, need `turnstileToken` (`CHALLENGE_REQUIRED` without a valid one).",
    auth: "none",
    body: loginBody,
    success: { status: 200, description: "Login successful", data: component("Tokens") },
    errors: [
      "INVALID_CREDENTIALS",
      "CHALLENGE_REQUIRED",
      "ACCOUNT_SUSPENDED",
      "EMAIL_NOT_VERIFIED",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ],
  },
  {
    method: "post",
    path: "/refresh",
    tag,
    summary: "Swap a refresh token for a new token pair",
    description:
      "The refresh token is single use. Presenting one that was already swapped is treated as theft: its whole session is revoked.",
    auth: "none",
    body: refreshBody,
    success: { status: 200, description: "Token refreshed", data: component("Tokens") },
    errors: ["INVALID_REFRESH_TOKEN", "ACCOUNT_SUSPENDED", "TOO_MANY_REQUESTS"],
  },
  {
    method: "post",
    path: "/logout",
    tag,
    summary: "Revoke the current session, or every session with `all: true`",
    description: "`refreshToken` may name another of the caller's own sessions to revoke as well.",
    auth: "bearer",
    body: logoutBody,
    success: { status: 200, description: "Logged out", data: empty },
  },
];
