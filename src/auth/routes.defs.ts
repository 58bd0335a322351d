import { createRoute, z } from "@hono/zod-openapi";
import { lazySchema } from "../openapi/lazy-schema";
import { MfaRequired, Tokens, User } from "../openapi/resources";
import { created, failures, JSON_BODY, SIGNED_IN, success } from "../openapi/responses";
import { bearer, requestBody } from "../openapi/router";
import { requireAuthAllowUnverified, requireAuthAllowUnverifiedInWrite } from "./guard";
import { loginBody, logoutBody, refreshBody, registerBody } from "./schemas";

const tags = ["Authentication"];
const one = lazySchema(() => z.object({ user: User }));

export const registerRoute = createRoute({
  method: "post",
  path: "/register",
  tags,
  summary: "Create an account",
  description:
    "The password needs at least `PASSWORD_MIN_LENGTH` characters (default 12), at most 72 UTF-8 bytes, not a common password and not the email or username. A verification email is sent.",
  request: { body: requestBody(registerBody) },
  responses: {
    201: created("Registration successful", one),
    ...failures(...JSON_BODY, "CONFLICT", "TOO_MANY_REQUESTS"),
  },
});

export const loginRoute = createRoute({
  method: "post",
  path: "/login",
  tags,
  summary: "Log in and get an access and a refresh token",
  description:
    "Failures are counted per email and client network: ten from one network lock that network out of the email for 15 minutes (`ACCOUNT_LOCKED`). Past ten on the email from all networks, attempts are slowed down, or, when Turnstile is configured, need `turnstileToken` (`CHALLENGE_REQUIRED` without a valid one).\n\nFor an account with MFA on, the right password answers `mfaRequired: true` with an `mfaToken` for POST /login/mfa, and no tokens.",
  request: { body: requestBody(loginBody) },
  responses: {
    200: success(
      "Login successful, or (accounts with MFA) a second factor required",
      lazySchema(() => z.union([Tokens, MfaRequired])),
    ),
    ...failures(
      ...JSON_BODY,
      "INVALID_CREDENTIALS",
      "MISCONFIGURED",
      "CHALLENGE_REQUIRED",
      "ACCOUNT_SUSPENDED",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ),
  },
});

export const refreshRoute = createRoute({
  method: "post",
  path: "/refresh",
  tags,
  summary: "Swap a refresh token for a new token pair",
  description:
    "The refresh token is single use. Presented again within `REFRESH_REUSE_GRACE` seconds (two tabs), it answers with the same successor; later, it is treated as theft and its whole session is revoked. A session ends `SESSION_MAX_AGE` after login, however often it is refreshed.",
  request: { body: requestBody(refreshBody) },
  responses: {
    200: success("Token refreshed", Tokens),
    ...failures(...JSON_BODY, "INVALID_REFRESH_TOKEN", "ACCOUNT_SUSPENDED", "EMAIL_NOT_VERIFIED", "TOO_MANY_REQUESTS"),
  },
});

export const logoutRoute = createRoute({
  method: "post",
  path: "/logout",
  tags,
  summary: "Revoke the current session, or every session with `all: true`",
  description: "`refreshToken` may name another of the caller's own sessions to revoke as well.",
  security: bearer,
  middleware: [requireAuthAllowUnverifiedInWrite] as const,
  request: { body: requestBody(logoutBody, "Every field is optional: `{}` or no body logs out this session.") },
  responses: { 200: success("Logged out"), ...failures(...SIGNED_IN, ...JSON_BODY) },
});

export const meRoute = createRoute({
  method: "get",
  path: "/me",
  tags: ["Signed-in user"],
  summary: "The signed-in user",
  security: bearer,
  middleware: [requireAuthAllowUnverified] as const,
  responses: {
    200: success(
      "Current user",
      lazySchema(() =>
        one.extend({
          hasPassword: z.boolean().meta({
            description:
              "False for an account made by social sign-in (until `forgot-password` sets one): it signs in with its linked providers.",
          }),
        }),
      ),
    ),
    ...failures(...SIGNED_IN),
  },
});
