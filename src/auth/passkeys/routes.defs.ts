import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { Tokens } from "../../openapi/resources";
import { created, failures, JSON_BODY, SIGNED_IN, STEP_UP, success } from "../../openapi/responses";
import { bearer, requestBody } from "../../openapi/router";
import { requireAuth } from "../guard";
import { stepUpBody } from "../mfa/schemas";
import { addPasskeyBody, assertionBody, loginOptionsBody, passkeyIdParam, renamePasskeyBody } from "./schemas";

const tags = ["Passkeys"];
const STEP_UP_PROOF =
  "Step-up: `currentPassword` (and `code` when MFA is on), or a POST /me/reauthenticate on this session within `STEP_UP_TTL` seconds (a passkey does).";

const Passkey = z
  .object({
    id: z.string().meta({ description: "The credential id (base64url)." }),
    name: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    backedUp: z.boolean().meta({ description: "The authenticator says it is backed up (synced) now." }),
    deviceType: z.enum(["singleDevice", "multiDevice"]),
  })
  .meta({ id: "Passkey" });
const onePasskey = z.object({ passkey: Passkey });
const options = (description: string) => z.record(z.string(), z.unknown()).meta({ description });

export const passkeyOptionsRoute = createRoute({
  method: "post",
  path: "/me/passkeys/options",
  tags,
  summary: "Options for navigator.credentials.create(): register a passkey",
  description: `${STEP_UP_PROOF} The JSON form of PublicKeyCredentialCreationOptions: a fresh challenge (5 minutes, single use, bound to this account), \`rp\`, an opaque \`user.id\` handle (not the email or user id), ES256, EdDSA and RS256, resident key preferred, user verification required, attestation \`none\`, and \`excludeCredentials\` for the account's passkeys.`,
  security: bearer,
  middleware: [requireAuth] as const,
  request: { body: requestBody(stepUpBody, "`{}` with a recent re-authentication.") },
  responses: {
    200: success("Passkey options", z.object({ options: options("PublicKeyCredentialCreationOptionsJSON") })),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP),
  },
});

export const addPasskeyRoute = createRoute({
  method: "post",
  path: "/me/passkeys",
  tags,
  summary: "Register a passkey with the answer of navigator.credentials.create()",
  description:
    "Checks the challenge (issued to this account by POST /me/passkeys/options), the exact origin (`WEBAUTHN_ORIGINS`), the RP ID hash, user presence and verification, and an offered algorithm. Attestation is not verified (conveyance `none`). Audited as `passkey_add`; the owner is emailed. Refused: `400 INVALID_PASSKEY`.",
  security: bearer,
  middleware: [requireAuth] as const,
  request: { body: requestBody(addPasskeyBody) },
  responses: { 201: created("Passkey added", onePasskey), ...failures(...SIGNED_IN, ...JSON_BODY, "INVALID_PASSKEY") },
});

export const listPasskeysRoute = createRoute({
  method: "get",
  path: "/me/passkeys",
  tags,
  summary: "The account's passkeys, oldest first",
  security: bearer,
  middleware: [requireAuth] as const,
  responses: {
    200: success("Passkeys", z.object({ passkeys: z.array(Passkey) })),
    ...failures(...SIGNED_IN),
  },
});

export const renamePasskeyRoute = createRoute({
  method: "patch",
  path: "/me/passkeys/{id}",
  tags,
  summary: "Rename one of the account's passkeys",
  description: "Another account's passkey id answers `404`, like an unknown one.",
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
  summary: "Remove one of the account's passkeys",
  description: `${STEP_UP_PROOF} \`409 LAST_SIGN_IN_METHOD\` when the account would have no password, passkey or linked identity left. Another account's passkey id answers \`404\`. Audited as \`passkey_remove\`; the owner is emailed.`,
  security: bearer,
  middleware: [requireAuth] as const,
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
  summary: "Options for navigator.credentials.get(): sign in (or re-authenticate) with a passkey",
  description:
    "With `email`, `allowCredentials` lists that account's passkeys; an unknown email, or an account without passkeys, gets one stand-in id, the same every time, so the answer is the same shape either way. Without `email` the list is empty (discoverable passkeys, conditional UI). The challenge lives 5 minutes and is used once, by POST /passkeys/login or POST /me/reauthenticate.",
  request: { body: requestBody(loginOptionsBody, "`{}` for discoverable passkeys.") },
  responses: {
    200: success(
      "Passkey options",
      z.object({
        options: options("PublicKeyCredentialRequestOptionsJSON"),
        challengeId: z.string().meta({ description: "Send it back with the assertion." }),
      }),
    ),
    ...failures(...JSON_BODY, "TOO_MANY_REQUESTS"),
  },
});

export const passkeyLoginRoute = createRoute({
  method: "post",
  path: "/passkeys/login",
  tags,
  summary: "Sign in with the answer of navigator.credentials.get()",
  description:
    "The usual login answer. A passkey with user verification is two factors: no TOTP step follows. The same refusals as POST /login (suspended, unverified when required, `ACCOUNT_LOCKED`); a failed assertion counts toward the lockout of the account whose passkey it names. Every refusal of the assertion itself is `401 INVALID_CREDENTIALS`; a signature counter that went backwards is refused and audited.",
  request: { body: requestBody(assertionBody) },
  responses: {
    200: success("Login successful", Tokens),
    ...failures(
      ...JSON_BODY,
      "INVALID_CREDENTIALS",
      "ACCOUNT_SUSPENDED",
      "EMAIL_NOT_VERIFIED",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ),
  },
});
