import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { Tokens } from "../../openapi/resources";
import { created, failures, JSON_BODY, SIGNED_IN, STEP_UP, success } from "../../openapi/responses";
import { bearer, requestBody } from "../../openapi/router";
import { requireAuth, requireAuthInWrite } from "../guard";
import { stepUpBody } from "../mfa/schemas";
import { requireVerifiedEmail, VERIFIED_EMAIL_REQUIRED } from "../verified-email";
import { addPasskeyBody, assertionBody, loginOptionsBody, passkeyIdParam, renamePasskeyBody } from "./schemas";

const tags = ["Passkeys"];
const STEP_UP_PROOF = "Step-up, as for POST /me/mfa/totp.";

const Passkey = lazySchema(() =>
  z
    .object({
      id: z.string().meta({ description: "Credential id, base64url." }),
      name: z.string(),
      createdAt: z.string(),
      lastUsedAt: z.string().nullable(),
      backedUp: z.boolean(),
      deviceType: z.enum(["singleDevice", "multiDevice"]),
    })
    .meta({ id: "Passkey" }),
);
const onePasskey = lazySchema(() => z.object({ passkey: Passkey }));
const options = (description: string) => z.record(z.string(), z.unknown()).meta({ description });

export const passkeyOptionsRoute = createRoute({
  method: "post",
  path: "/me/passkeys/options",
  tags,
  summary: "Options for navigator.credentials.create()",
  description: STEP_UP_PROOF,
  security: bearer,
  middleware: [requireAuthInWrite, requireVerifiedEmail] as const,
  request: { body: requestBody(stepUpBody, "`{}` with a recent re-authentication.") },
  responses: {
    200: success(
      "Passkey options",
      lazySchema(() => z.object({ options: options("PublicKeyCredentialCreationOptionsJSON") })),
    ),
    ...failures(VERIFIED_EMAIL_REQUIRED, ...SIGNED_IN, ...JSON_BODY, ...STEP_UP),
  },
});

export const addPasskeyRoute = createRoute({
  method: "post",
  path: "/me/passkeys",
  tags,
  summary: "Register a passkey",
  description: "Audited `passkey_add`; the owner is emailed.",
  security: bearer,
  middleware: [requireAuthInWrite, requireVerifiedEmail] as const,
  request: { body: requestBody(addPasskeyBody) },
  responses: {
    201: created("Passkey added", onePasskey),
    ...failures(VERIFIED_EMAIL_REQUIRED, ...SIGNED_IN, ...JSON_BODY, "INVALID_PASSKEY"),
  },
});

export const listPasskeysRoute = createRoute({
  method: "get",
  path: "/me/passkeys",
  tags,
  summary: "List passkeys (oldest first)",
  security: bearer,
  middleware: [requireAuth] as const,
  responses: {
    200: success(
      "Passkeys",
      lazySchema(() => z.object({ passkeys: z.array(Passkey) })),
    ),
    ...failures(...SIGNED_IN),
  },
});

export const renamePasskeyRoute = createRoute({
  method: "patch",
  path: "/me/passkeys/{id}",
  tags,
  summary: "Rename a passkey",
  description: "Another account's passkey: `404`.",
  security: bearer,
  middleware: [requireAuth] as const,
  request: { params: passkeyIdParam, body: requestBody(renamePasskeyBody) },
  responses: {
    200: success("Passkey renamed", onePasskey),
    ...failures(...SIGNED_IN, ...JSON_BODY, "NOT_FOUND"),
  },
});

export const removePasskeyRoute = createRoute({
  method: "delete",
  path: "/me/passkeys/{id}",
  tags,
  summary: "Remove a passkey",
  description: `${STEP_UP_PROOF} Not the last way in (\`409\`). Audited \`passkey_remove\`; the owner is emailed.`,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: passkeyIdParam, body: requestBody(stepUpBody, "`{}` with a recent re-authentication.") },
  responses: {
    200: success("Passkey removed"),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "LAST_SIGN_IN_METHOD"),
  },
});

export const passkeyLoginOptionsRoute = createRoute({
  method: "post",
  path: "/passkeys/login/options",
  tags,
  summary: "Options for navigator.credentials.get()",
  description: "Single use, 5 minutes. An unknown email gets the same shape.",
  request: { body: requestBody(loginOptionsBody) },
  responses: {
    200: success(
      "Passkey options",
      lazySchema(() =>
        z.object({
          options: options("PublicKeyCredentialRequestOptionsJSON"),
          challengeId: z.string(),
        }),
      ),
    ),
    ...failures(...JSON_BODY, "TOO_MANY_REQUESTS"),
  },
});

export const passkeyLoginRoute = createRoute({
  method: "post",
  path: "/passkeys/login",
  tags,
  summary: "Sign in with a passkey",
  description: "Two factors: no TOTP step follows. Failures count toward the account's lockout.",
  request: { body: requestBody(assertionBody) },
  responses: {
    200: success("Login successful", Tokens),
    ...failures(...JSON_BODY, "INVALID_CREDENTIALS", "ACCOUNT_SUSPENDED", "TOO_MANY_REQUESTS", "ACCOUNT_LOCKED"),
  },
});
