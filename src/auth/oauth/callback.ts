import { oauthClient } from "./client";
import type { Provider } from "./config";
import { clock, type OAuthDeps } from "./deps";
import { discover } from "./discovery";
import { readGithubIdentity } from "./github";
import { verifyIdToken } from "./id-token";
import type { ProviderIdentity } from "./identity";
import { claimAuthorization } from "./state";
import { withUserinfoEmail } from "./userinfo";

export type CallbackParams = { code?: string; state?: string; error?: string };

/** Where the SPA asked to land and the challenge its login code must be bound to. */
type SpaReturn = { redirectUri: string; codeChallenge: string; linkUserId: string | null };

export type CallbackResult =
  | ({ ok: true; identity: ProviderIdentity } & SpaReturn)
  /** No valid state: nothing trustworthy to redirect to, the route answers 400. */
  | { ok: false; reason: "invalid_state" }
  /** The state was good: the route redirects to `redirectUri?error=…`. */
  | ({ ok: false; reason: "access_denied" | "exchange_failed" | "invalid_id_token" } & SpaReturn);

/**
 * Finishes a browser sign-in at the callback. The state is claimed first
 * (single use, this provider only, 10 minutes), so a replayed or foreign
 * state, or a second callback racing the first, gets nothing. Then the code
 * is exchanged with our PKCE verifier and the identity read: for OIDC from
 * the ID token, verified against the JWKS and the nonce stored with the
 * state (its email from userinfo when the token has none); for GitHub from its API. Nothing here signs anyone in: the caller
 * resolves the identity to an account (`resolveSignIn`), or for a link flow
 * hands it to a link code (`issueLoginCode`), linked only when redeemed.
 */
export async function finishAuthorization(
  deps: OAuthDeps,
  provider: Provider,
  params: CallbackParams,
): Promise<CallbackResult> {
  if (!params.state) return { ok: false, reason: "invalid_state" };
  const stored = await claimAuthorization(deps, provider.id, params.state);
  if (!stored) return { ok: false, reason: "invalid_state" };
  const back = { redirectUri: stored.redirectUri, codeChallenge: stored.codeChallenge, linkUserId: stored.linkUserId };
  if (params.error || !params.code) return { ok: false, reason: "access_denied", ...back };

  const now = clock(deps);
  try {
    if (provider.type === "github") {
      const tokens = await oauthClient(provider, deps.callbackUrl(provider.id)).validateAuthorizationCode(
        provider.tokenUrl,
        params.code,
        stored.codeVerifier,
      );
      return { ok: true, identity: await readGithubIdentity(provider, tokens.accessToken()), ...back };
    }
    // Discovered once for the whole callback (token endpoint, JWKS, userinfo).
    const endpoints = await discover(provider, now);
    const tokens = await oauthClient(provider, deps.callbackUrl(provider.id)).validateAuthorizationCode(
      endpoints.tokenUrl,
      params.code,
      stored.codeVerifier,
    );
    const verified = await verifyIdToken(provider, tokens.idToken(), {
      nonce: stored.nonce,
      now,
      jwksCooldownMs: deps.jwksCooldownMs,
      jwksUri: endpoints.jwksUri,
    });
    if (!verified.ok) return { ok: false, reason: "invalid_id_token", ...back };
    return {
      ok: true,
      identity: await withUserinfoEmail(verified.identity, endpoints.userinfoUrl, tokens.accessToken()),
      ...back,
    };
  } catch {
    // Arctic's request errors (a refused code or verifier), a provider that is down or answers
    // nonsense (ProviderError), a token answer without an ID token: one outcome, no details to the SPA.
    return { ok: false, reason: "exchange_failed", ...back };
  }
}
