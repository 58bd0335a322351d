import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { enforceRateLimit } from "../../http/rate-limit";
import { lazySchema } from "../../openapi/lazy-schema";
import { MfaRequired, Tokens } from "../../openapi/resources";
import { created, failures, INPUT, JSON_BODY, SIGNED_IN, STEP_UP, success } from "../../openapi/responses";
import { bearer, requestBody } from "../../openapi/router";
import { idParam } from "../../users/fields";
import { requireAuth, requireAuthInWrite } from "../guard";
import { requireVerifiedEmail, VERIFIED_EMAIL_REQUIRED } from "../verified-email";
import {
  authorizeQuery,
  callbackQuery,
  Identity,
  idTokenBody,
  linkBody,
  linkCodeBody,
  Provider,
  providerParam,
  tokenBody,
  unlinkBody,
} from "./schemas";

const tags = ["Social sign-in"];
const redirect = (description: string) => ({
  description,
  headers: { Location: { description: "The target.", schema: { type: "string" as const } } },
});
const signedIn = lazySchema(() => z.union([Tokens, MfaRequired]));

/** A GET anyone may send, counted per client network before its query is validated (like PUBLIC_ENDPOINTS' POSTs). */
const perNetwork = (endpoint: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await enforceRateLimit(c, endpoint);
    await next();
  });

export const providersRoute = createRoute({
  method: "get",
  path: "/oauth/providers",
  tags,
  summary: "The configured providers, for the SPA's sign-in buttons",
  responses: {
    200: success(
      "Providers",
      lazySchema(() => z.array(Provider)),
    ),
    ...failures(),
  },
});

export const authorizeRoute = createRoute({
  method: "get",
  path: "/oauth/{provider}/authorize",
  tags,
  summary: "Start a browser sign-in: 302 to the provider",
  description:
    "Redirects to the provider with `state` (single use, 10 minutes, kept server-side), PKCE S256 and, for OpenID Connect, `nonce`. A `redirect_uri` off the allowed origins (or with credentials or a fragment), or a missing or malformed challenge, answers `400 VALIDATION_ERROR` and never redirects. Rate limited per client network.",
  middleware: [perNetwork("oauth-authorize")] as const,
  request: { params: providerParam, query: authorizeQuery },
  responses: {
    302: redirect("To the provider's authorization page."),
    ...failures(...INPUT, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const callbackRoute = createRoute({
  method: "get",
  path: "/oauth/{provider}/callback",
  tags,
  summary: "Where the provider sends the browser back: 302 to the SPA",
  description:
    "Claims the `state`, exchanges the code (with the API's PKCE verifier), reads the identity and signs in, signs up or links. Then 302 to the SPA's `redirect_uri` with `?code=<one-time code>` (60 s, single use, for POST /oauth/token, or POST /me/identities in a link flow), or `?error=<CODE>` (`ACCESS_DENIED`, `PROVIDER_ERROR`, `ACCOUNT_EXISTS`, `EMAIL_REQUIRED`). Tokens never appear in a URL. Without a valid `state` there is nowhere trustworthy to go: `400 INVALID_STATE` (JSON), no redirect.",
  middleware: [perNetwork("oauth-callback")] as const,
  request: { params: providerParam, query: callbackQuery },
  responses: {
    302: redirect("To the SPA's `redirect_uri` with `code` or `error`."),
    ...failures(...INPUT, "INVALID_STATE", "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const tokenRoute = createRoute({
  method: "post",
  path: "/oauth/token",
  tags,
  summary: "Redeem the callback's login code with the SPA's PKCE verifier",
  description:
    "The usual login answer, or `mfaRequired` for an account with MFA on. The code is spent by the first attempt whatever its verifier; a wrong verifier counts toward the account's lockout like a wrong password. Suspended accounts and locked networks are refused exactly as by POST /login (an unverified account gets the same limited session as there).",
  request: { body: requestBody(tokenBody) },
  responses: {
    200: success("Login successful, or a second factor required", signedIn),
    ...failures(
      ...JSON_BODY,
      "INVALID_LOGIN_CODE",
      "INVALID_CREDENTIALS",
      "ACCOUNT_SUSPENDED",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ),
  },
});

export const idTokenRoute = createRoute({
  method: "post",
  path: "/oauth/{provider}/id-token",
  tags,
  summary: "Native apps: sign in with an ID token from the provider's SDK (OpenID Connect and Google)",
  description:
    "The token is verified against the provider's JWKS (RS256/ES256; `iss`, `aud` = `clientId` or one of `clientIds`, `exp`, `iat`, and `nonce` when sent), then the identity signs in, signs up or links by the same rules as the browser flow. `404` for an unknown provider or one without ID tokens (GitHub).",
  request: { params: providerParam, body: requestBody(idTokenBody) },
  responses: {
    200: success("Login successful, or a second factor required", signedIn),
    ...failures(
      ...JSON_BODY,
      "INVALID_ID_TOKEN",
      "INVALID_CREDENTIALS",
      "EMAIL_REQUIRED",
      "ACCOUNT_EXISTS",
      "ACCOUNT_SUSPENDED",
      "NOT_FOUND",
      "TOO_MANY_REQUESTS",
      "ACCOUNT_LOCKED",
    ),
  },
});

export const listIdentitiesRoute = createRoute({
  method: "get",
  path: "/me/identities",
  tags,
  summary: "The social identities linked to the signed-in account",
  security: bearer,
  middleware: [requireAuth] as const,
  responses: {
    200: success(
      "Linked identities",
      lazySchema(() => z.array(Identity)),
    ),
    ...failures(...SIGNED_IN),
  },
});

export const linkIdentityRoute = createRoute({
  method: "post",
  path: "/me/identities/{provider}",
  tags,
  summary: "Start linking a provider to the signed-in account",
  description:
    "Step-up: `currentPassword` (and `code` when MFA is on), or a POST /me/reauthenticate on this session within `STEP_UP_TTL` seconds. Answers the provider's `authorizeUrl`: open it in the browser; its callback redirects to `redirectUri?code=<link code>`, which POST /me/identities redeems with the verifier of `codeChallenge` to link the identity.",
  security: bearer,
  middleware: [requireAuthInWrite, requireVerifiedEmail] as const,
  request: { params: providerParam, body: requestBody(linkBody) },
  responses: {
    200: success(
      "Open authorizeUrl in the browser",
      lazySchema(() => z.object({ authorizeUrl: z.url() })),
    ),
    ...failures(VERIFIED_EMAIL_REQUIRED, ...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "NOT_FOUND"),
  },
});

export const completeLinkRoute = createRoute({
  method: "post",
  path: "/me/identities",
  tags,
  summary: "Finish linking: redeem the link flow's code with the SPA's PKCE verifier",
  description:
    "Links the provider's identity to the caller, whatever its email. Only this account's link code is taken, spent by the first try; a wrong verifier, a sign-in code or another account's code: `401 INVALID_LOGIN_CODE`. `200` if already linked here.",
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { body: requestBody(linkCodeBody) },
  responses: {
    201: created(
      "Identity linked",
      lazySchema(() => z.object({ identity: Identity })),
    ),
    200: success(
      "Identity already linked",
      lazySchema(() => z.object({ identity: Identity })),
    ),
    ...failures(...SIGNED_IN, ...JSON_BODY, "INVALID_LOGIN_CODE", "IDENTITY_IN_USE", "NOT_FOUND"),
  },
});

export const unlinkIdentityRoute = createRoute({
  method: "delete",
  path: "/me/identities/{id}",
  tags,
  summary: "Unlink a social identity from the signed-in account",
  description:
    "Step-up as for linking. `409 LAST_SIGN_IN_METHOD` when the account would be left with no password, passkey or other identity; `404` for an id that is not one of the caller's identities.",
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(unlinkBody, "`{}` with a recent re-authentication.") },
  responses: {
    200: success("Identity unlinked"),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "LAST_SIGN_IN_METHOD"),
  },
});
