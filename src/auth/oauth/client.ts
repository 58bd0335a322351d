import { encodeBase64, encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { Provider } from "./config";
import { discover } from "./discovery";

/** GitHub grants these to read the profile and the verified email addresses; nothing more. */
export const GITHUB_SCOPES = ["read:user", "user:email"];

/** RFC 7636 S256: base64url(SHA-256(verifier)), unpadded. */
async function s256Challenge(codeVerifier: string) {
  return encodeBase64urlNoPadding(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(codeVerifier))),
  );
}

/**
 * The provider's authorization URL for an authorization-code flow with PKCE
 * S256 (RFC 6749 §4.1.1, RFC 7636), redirecting to this API's callback.
 */
export async function authorizationUrlWithPkce(
  provider: Provider,
  authorizationEndpoint: string,
  callbackUrl: string,
  pending: { state: string; codeVerifier: string },
  scopes: string[],
) {
  const url = new URL(authorizationEndpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("redirect_uri", callbackUrl);
  url.searchParams.set("state", pending.state);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("code_challenge", await s256Challenge(pending.codeVerifier));
  if (scopes.length > 0) url.searchParams.set("scope", scopes.join(" "));
  return url;
}

export type TokenAnswer = { accessToken(): string; idToken(): string };

/** A field of the token answer that must be a string; throws (so the caller's exchange fails) when it is not. */
const field = (data: Record<string, unknown>, name: string) => () => {
  const value = data[name];
  if (typeof value !== "string") throw new Error(`Missing or invalid '${name}' field`);
  return value;
};

/**
 * Exchanges an authorization code at the token endpoint (RFC 6749 §4.1.3) with
 * our PKCE verifier, authenticating with HTTP Basic client credentials.
 * Anything but a 200 with a JSON object (a refused code or verifier, a
 * provider that is down or answers nonsense) throws; the caller turns every
 * throw into one outcome without details.
 */
export async function exchangeCode(
  provider: Provider,
  tokenEndpoint: string,
  callbackUrl: string,
  code: string,
  codeVerifier: string,
): Promise<TokenAnswer> {
  const body = new TextEncoder().encode(
    new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: callbackUrl,
      code_verifier: codeVerifier,
    }).toString(),
  );
  const credentials = encodeBase64(new TextEncoder().encode(`${provider.clientId}:${provider.clientSecret}`));
  const response = await fetch(tokenEndpoint, {
    method: "POST",
    body,
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
      // GitHub refuses requests without one.
      "User-Agent": "edge-users",
      "Content-Length": String(body.byteLength),
      Authorization: `Basic ${credentials}`,
    },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`Token endpoint answered ${response.status}`);
  }
  const data: unknown = await response.json();
  if (typeof data !== "object" || data === null) throw new Error("Token answer is not an object");
  const fields = data as Record<string, unknown>;
  return { accessToken: field(fields, "access_token"), idToken: field(fields, "id_token") };
}

/** The authorization and token endpoints (OIDC: discovery plus overrides; GitHub: preset plus overrides). */
export async function endpointsOf(provider: Provider, now: number) {
  if (provider.type === "github") return { authorizationUrl: provider.authorizationUrl, tokenUrl: provider.tokenUrl };
  return discover(provider, now);
}
