import { CodeChallengeMethod } from "arctic";
import { endpointsOf, GITHUB_SCOPES, oauthClient } from "./client";
import type { Provider } from "./config";
import { clock, type OAuthDeps } from "./deps";
import { isAllowedRedirect, isS256Challenge } from "./redirects";
import { saveAuthorization } from "./state";

export type AuthorizeRequest = {
  /** Where the SPA wants to land (checked against the allowed origins). */
  redirectUri: string;
  /** The SPA's own PKCE S256 challenge; the one-time login code is redeemable only with its verifier. */
  codeChallenge: string;
  /** Set when a signed-in user links an identity (the callback then links instead of signing in). */
  linkUserId?: string;
};

export type AuthorizeResult =
  | { ok: true; authorizeUrl: string }
  | { ok: false; reason: "redirect_uri" | "code_challenge" };

/**
 * Starts a browser sign-in (or link) at `provider`: checks the SPA's
 * `redirectUri` and PKCE challenge before anything is stored, saves state,
 * verifier and nonce server-side, and returns the provider's authorization
 * URL with `state`, PKCE S256 and (OIDC) `nonce`. A refused request gets no
 * URL at all, so the route answers 400 and never redirects.
 */
export async function startAuthorization(
  deps: OAuthDeps,
  provider: Provider,
  allowedOrigins: Set<string>,
  request: AuthorizeRequest,
  /** A link's step-up proof (see `saveAuthorization`). */
  link?: Parameters<typeof saveAuthorization>[2],
): Promise<AuthorizeResult> {
  if (!isAllowedRedirect(allowedOrigins, request.redirectUri)) return { ok: false, reason: "redirect_uri" };
  if (!isS256Challenge(request.codeChallenge)) return { ok: false, reason: "code_challenge" };
  const oidc = provider.type !== "github";
  const { authorizationUrl } = await endpointsOf(provider, clock(deps));
  const pending = await saveAuthorization(deps, { provider: provider.id, oidc, ...request }, link);
  const url = oauthClient(provider, deps.callbackUrl(provider.id)).createAuthorizationURLWithPKCE(
    authorizationUrl,
    pending.state,
    CodeChallengeMethod.S256,
    pending.codeVerifier,
    oidc ? provider.scopes : GITHUB_SCOPES,
  );
  if (pending.nonce) url.searchParams.set("nonce", pending.nonce);
  return { ok: true, authorizeUrl: url.href };
}
