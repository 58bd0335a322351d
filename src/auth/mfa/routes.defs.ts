import { createRoute, z } from "@hono/zod-openapi";
import { requirePermission } from "../../auth/permissions";
import { lazySchema } from "../../openapi/lazy-schema";
import { Tokens } from "../../openapi/resources";
import { failures, JSON_BODY, PERMITTED, SIGNED_IN, success } from "../../openapi/responses";
import { bearer, requestBody } from "../../openapi/router";
import { idParam } from "../../users/fields";
import { HAS_PASSWORD } from "../email-code/routes.defs";
import { requireAuth, requireAuthInWrite } from "../guard";
import { requireVerifiedEmail, VERIFIED_EMAIL_REQUIRED } from "../verified-email";
import {
  adminMfaResetBody,
  codeProofBody,
  confirmTotpBody,
  loginMfaBody,
  reauthenticateBody,
  startTotpBody,
} from "./schemas";

const tags = ["Second factor"];
const STEP_UP = ["INVALID_CREDENTIALS", "INVALID_MFA_CODE", "REAUTHENTICATION_REQUIRED", "ACCOUNT_LOCKED"] as const;
const RecoveryCodes = lazySchema(() =>
  z.object({
    recoveryCodes: z.array(z.string()).length(10).meta({ description: "Shown once; each signs in once." }),
  }),
);

export const startTotpRoute = createRoute({
  method: "post",
  path: "/me/mfa/totp",
  tags,
  summary: "Start TOTP enrolment: a new secret for the authenticator app",
  description:
    "Step-up: `currentPassword`, or a POST /me/reauthenticate on this session within `STEP_UP_TTL` seconds. Not active until confirmed; calling it again replaces the pending secret. `409 CONFLICT` when MFA is already on.",
  security: bearer,
  middleware: [requireAuthInWrite, requireVerifiedEmail] as const,
  request: { body: requestBody(startTotpBody, "`{}` with a recent re-authentication.") },
  responses: {
    200: success(
      "Scan the QR code or type the secret, then confirm with a code",
      lazySchema(() =>
        z.object({
          secret: z.string().meta({ description: "Base32." }),
          otpauthUrl: z.string().meta({ description: "`otpauth://totp/<issuer>:<email>?secret=…&issuer=…`" }),
          qrSvg: z.string().meta({ description: "The otpauth URL as an SVG QR code." }),
        }),
      ),
    ),
    ...failures(VERIFIED_EMAIL_REQUIRED, ...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "CONFLICT", "TOO_MANY_REQUESTS"),
  },
});

export const confirmTotpRoute = createRoute({
  method: "post",
  path: "/me/mfa/totp/confirm",
  tags,
  summary: "Confirm TOTP with a code: MFA is on, and 10 recovery codes are shown once",
  security: bearer,
  middleware: [requireAuthInWrite, requireVerifiedEmail] as const,
  request: { body: requestBody(confirmTotpBody) },
  responses: {
    200: success("MFA enabled", RecoveryCodes),
    ...failures(
      VERIFIED_EMAIL_REQUIRED,
      ...SIGNED_IN,
      ...JSON_BODY,
      "INVALID_MFA_CODE",
      "NOT_FOUND",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ),
  },
});

export const disableTotpRoute = createRoute({
  method: "delete",
  path: "/me/mfa/totp",
  tags,
  summary: "Turn MFA off; the recovery codes die with it",
  description: "Needs `code`, and `currentPassword` or a recent POST /me/reauthenticate on this session.",
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { body: requestBody(codeProofBody) },
  responses: {
    200: success("MFA disabled"),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const regenerateRecoveryCodesRoute = createRoute({
  method: "post",
  path: "/me/mfa/recovery-codes",
  tags,
  summary: "A new set of recovery codes; the old set dies",
  description: "Needs `code`, and `currentPassword` or a recent POST /me/reauthenticate on this session.",
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { body: requestBody(codeProofBody) },
  responses: {
    200: success("Recovery codes replaced", RecoveryCodes),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const reauthenticateRoute = createRoute({
  method: "post",
  path: "/me/reauthenticate",
  tags,
  summary: "Fresh proof for sensitive actions with this access token",
  description:
    "The password, and `code` when MFA is on; or `passkey` (`{ challengeId, response }`, options from POST /passkeys/login/options; no code); or `emailCode` (accounts without a password; and `code` when MFA is on). For `STEP_UP_TTL` seconds (default 300) requests with THIS access token may change the email or password, delete the account, and manage MFA and sign-in methods without inline proof (MFA off and new recovery codes still need a code). Other sessions, and other access tokens of this session (a refresh mints a new one), do not benefit: re-authenticate again after a refresh. A token without a `jti` (signed before tokens had one) gets 401: refresh it first.",
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { body: requestBody(reauthenticateBody) },
  responses: {
    200: success(
      "Re-authenticated",
      lazySchema(() =>
        z.object({ stepUpExpiresIn: z.int().positive().meta({ description: "Seconds the proof stays fresh." }) }),
      ),
    ),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "TOO_MANY_REQUESTS", "INVALID_EMAIL_CODE", HAS_PASSWORD),
  },
});

export const loginMfaRoute = createRoute({
  method: "post",
  path: "/login/mfa",
  tags: ["Authentication"],
  summary: "Second step of a login: an authenticator code or a recovery code",
  description:
    "The `mfaToken` is single use, lives 5 minutes, dies with a password change and after 5 wrong codes (`INVALID_MFA_TOKEN`). Wrong codes count toward the account lockout like wrong passwords. A used recovery code is mailed to the owner with how many remain.",
  request: { body: requestBody(loginMfaBody) },
  responses: {
    200: success("Login successful", Tokens),
    ...failures(
      ...JSON_BODY,
      "INVALID_MFA_CODE",
      "INVALID_MFA_TOKEN",
      "INVALID_CREDENTIALS",
      "ACCOUNT_SUSPENDED",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ),
  },
});

export const adminResetMfaRoute = createRoute({
  method: "delete",
  path: "/user/{id}/mfa",
  tags: ["User management"],
  summary: "Turn a user's MFA off, sign them out everywhere and tell them (admin)",
  description:
    "Audited as `mfa_reset`. On one's own id it needs step-up like DELETE /me/mfa/totp (`currentPassword` and `code`, or a recent re-authentication and `code`).",
  security: bearer,
  middleware: [requireAuth, requirePermission("users:manage")] as const,
  request: { params: idParam, body: requestBody(adminMfaResetBody, "Only for one's own id.") },
  responses: {
    200: success("MFA reset"),
    ...failures(...PERMITTED, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});
