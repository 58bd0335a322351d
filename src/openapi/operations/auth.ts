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
    auth: "none",
    body: loginBody,
    success: { status: 200, description: "Login successful", data: component("Tokens") },
    errors: ["INVALID_CREDENTIALS", "ACCOUNT_SUSPENDED", "EMAIL_NOT_VERIFIED", "TOO_MANY_REQUESTS", "ACCOUNT_LOCKED"],
  },
  {
    method: "post",
    path: "/refresh",
    tag,
    summary: "Swap a refresh token for a new token pair",
    description:
      "The refresh token is single use. Presented again within `REFRESH_REUSE_GRACE` seconds (two tabs), it answers with the same successor; later, it is treated as theft and its whole session is revoked. A session ends `SESSION_MAX_AGE` after login, however often it is refreshed.",
    auth: "none",
    body: refreshBody,
    success: { status: 200, description: "Token refreshed", data: component("Tokens") },
    errors: ["INVALID_REFRESH_TOKEN", "ACCOUNT_SUSPENDED", "EMAIL_NOT_VERIFIED", "TOO_MANY_REQUESTS"],
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
