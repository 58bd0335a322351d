import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { MfaRequired, Tokens } from "../../openapi/resources";
import { failures, JSON_BODY, SIGNED_IN, success } from "../../openapi/responses";
import { bearer, requestBody } from "../../openapi/router";
import { emailField } from "../../users/fields";
import { requireAuth } from "../guard";

const tags = ["Authentication"];

/** Both routes answer this while `EMAIL_CODE_LOGIN` is false: as if they did not exist. */
const SWITCHED_OFF = {
  code: "NOT_FOUND",
  status: 404,
  when: "`EMAIL_CODE_LOGIN` is `false`: email codes are switched off on this deployment.",
} as const;

export const requestEmailCodeBody = lazySchema(() => z.strictObject({ email: emailField }));

export const verifyEmailCodeBody = lazySchema(() =>
  z.strictObject({
    email: emailField,
    // Any string up to a sane length: a malformed code is a wrong code (and counts as an attempt), not a 400 that costs nothing.
    code: z
      .string()
      .min(1, "Code is required")
      .max(32, "Code is too long")
      .meta({ description: "The 6-digit code from the email.", example: "042317" }),
  }),
);

export const requestEmailCodeRoute = createRoute({
  method: "post",
  path: "/login/email-code",
  tags,
  summary: "Email a one-time sign-in code",
  description:
    "The same answer, with the same database work, whether or not an account has that email; a 6-digit code is mailed (after the response) only to an existing, non-suspended account, at most a few per address per hour. A new code replaces the previous one. The code lives 10 minutes and allows 5 tries.",
  request: { body: requestBody(requestEmailCodeBody) },
  responses: {
    200: success("Same message for known and unknown emails"),
    ...failures(...JSON_BODY, "TOO_MANY_REQUESTS", SWITCHED_OFF),
  },
});

export const verifyEmailCodeRoute = createRoute({
  method: "post",
  path: "/login/email-code/verify",
  tags,
  summary: "Sign in with an emailed code",
  description:
    "Answers like POST /login. The code is single use, lives 10 minutes and dies after 5 wrong tries; every try counts toward the account lockout like a wrong password. The code is one factor: an account with MFA on gets `mfaRequired` and an `mfaToken` for POST /login/mfa.\n\nOn an account whose email was never verified, the code proves the mailbox owner is here, not whoever registered: the email becomes verified, and the password, pending email change, TOTP, passkeys, linked identities and every other session are removed.",
  request: { body: requestBody(verifyEmailCodeBody) },
  responses: {
    200: success(
      "Signed in, or (accounts with MFA) a second factor required",
      lazySchema(() => z.union([Tokens, MfaRequired])),
    ),
    ...failures(
      ...JSON_BODY,
      "INVALID_EMAIL_CODE",
      "MISCONFIGURED",
      "ACCOUNT_SUSPENDED",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
      SWITCHED_OFF,
    ),
  },
});

/** `emailCode` from an account that has a password (both step-up routes). */
export const HAS_PASSWORD = { code: "FORBIDDEN", status: 403, when: "The account has a password: use it." } as const;

export const requestStepUpCodeRoute = createRoute({
  method: "post",
  path: "/me/reauthenticate/email-code",
  tags: ["Second factor"],
  summary: "Email a step-up code (accounts without a password)",
  description: "For POST /me/reauthenticate `{ emailCode }` on this session: 10 minutes, 5 tries.",
  security: bearer,
  middleware: [requireAuth] as const,
  responses: {
    200: success(
      "Code sent",
      lazySchema(() => z.object({ expiresIn: z.int().positive() })),
    ),
    ...failures(...SIGNED_IN, HAS_PASSWORD, "TOO_MANY_REQUESTS"),
  },
});
