import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { passwordField } from "../../users/fields";
import { totpCode } from "../mfa/schemas";

const redirectUri = lazySchema(() =>
  z.string().min(1).max(2048).meta({
    description: "Where the SPA wants to land: an http(s) URL on the origin of `APP_URL` or one of `CORS_ORIGINS`.",
    example: "https://app.example.com/oauth/done",
  }),
);
const codeChallenge = lazySchema(() =>
  z.string().min(1).max(128).meta({
    description:
      "The SPA's PKCE S256 challenge (43 base64url characters); the login code is redeemable only with its verifier.",
  }),
);

export const providerParam = lazySchema(() =>
  z.strictObject({
    provider: z.string().max(64).meta({ description: "A provider id of `GET /oauth/providers`.", example: "github" }),
  }),
);

export const authorizeQuery = lazySchema(() =>
  z.object({
    redirect_uri: redirectUri,
    code_challenge: codeChallenge,
    code_challenge_method: z.literal("S256").meta({ description: "Only S256." }),
  }),
);

const param = lazySchema(() => z.string().max(2048).optional());
/** What the provider sends back; anything else in the query is ignored. */
export const callbackQuery = lazySchema(() => z.object({ code: param, state: param, error: param }));

export const tokenBody = lazySchema(() =>
  z.strictObject({
    code: z.string().min(1).max(128).meta({ description: "The `code` the callback put in the SPA's redirect." }),
    codeVerifier: z
      .string()
      .min(1)
      .max(128)
      .meta({ description: "The PKCE verifier of the `code_challenge` sent to /oauth/:provider/authorize." }),
  }),
);

export const linkCodeBody = lazySchema(() =>
  z.strictObject({
    code: z
      .string()
      .min(1)
      .max(128)
      .meta({ description: "The `code` the callback of a link flow put in `redirectUri`." }),
    codeVerifier: z
      .string()
      .min(1)
      .max(128)
      .meta({ description: "The PKCE verifier of the `codeChallenge` sent to POST /me/identities/:provider." }),
  }),
);

export const idTokenBody = lazySchema(() =>
  z.strictObject({
    idToken: z.string().min(1).max(16_384).meta({ description: "The ID token the app got from the provider's SDK." }),
    nonce: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .meta({ description: "The nonce the app gave the provider: the token must carry exactly it." }),
  }),
);

export const linkBody = lazySchema(() =>
  z.strictObject({
    redirectUri,
    codeChallenge,
    currentPassword: passwordField.optional().meta({
      description: "Inline proof; not needed within `STEP_UP_TTL` seconds of POST /me/reauthenticate on this session.",
    }),
    code: totpCode.optional().meta({ description: "With `currentPassword`, when MFA is on." }),
  }),
);

export const unlinkBody = lazySchema(() =>
  z.strictObject({
    currentPassword: passwordField.optional().meta({
      description: "Inline proof; not needed within `STEP_UP_TTL` seconds of POST /me/reauthenticate on this session.",
    }),
    code: totpCode.optional().meta({ description: "With `currentPassword`, when MFA is on." }),
  }),
);

export const Provider = lazySchema(() =>
  z
    .object({ id: z.string(), name: z.string(), type: z.enum(["github", "google", "oidc"]) })
    .meta({ id: "OAuthProvider" }),
);

export const Identity = lazySchema(() =>
  z
    .object({
      id: z.uuid(),
      provider: z.string(),
      email: z.string().nullable().meta({ description: "What the provider said when it was linked (display only)." }),
      createdAt: z.string(),
      lastUsedAt: z.string().nullable(),
    })
    .meta({ id: "Identity" }),
);
