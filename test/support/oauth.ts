import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { parseProviders } from "../../src/auth/oauth/config";
import type { OAuthDeps } from "../../src/auth/oauth/deps";
import { createDb } from "../../src/db/client";
import { appOrigins } from "../../src/http/app-origins";
import { TEST_OAUTH_CLIENT } from "./oidc-client";

/** The local identity provider (test/support/oidc-provider.ts), started by the global setup. */
export const IDP = inject("oidcUrl");

/** An OAUTH_PROVIDERS value pointing every type at the local provider, as an operator would write it. */
export const TEST_OAUTH_PROVIDERS = JSON.stringify({
  acme: {
    type: "oidc",
    name: "Acme SSO",
    issuer: IDP,
    clientId: TEST_OAUTH_CLIENT.id,
    clientSecret: TEST_OAUTH_CLIENT.secret,
    clientIds: ["acme-ios-app"],
  },
  google: { type: "google", issuer: IDP, clientId: TEST_OAUTH_CLIENT.id, clientSecret: TEST_OAUTH_CLIENT.secret },
  github: {
    type: "github",
    clientId: TEST_OAUTH_CLIENT.id,
    clientSecret: TEST_OAUTH_CLIENT.secret,
    authorizationUrl: `${IDP}/authorize`,
    tokenUrl: `${IDP}/token`,
    apiUrl: `${IDP}/github`,
  },
});

export const providers = () => parseProviders(TEST_OAUTH_PROVIDERS);

export function provider(id: "acme" | "google" | "github") {
  const p = providers().get(id);
  if (!p) throw new Error(`no provider ${id}`);
  return p;
}

export const SPA = "https://app.test";
export const origins = appOrigins({ APP_URL: SPA, CORS_ORIGINS: ["https://spa.test"] });

export const oauthDeps = (overrides: Partial<OAuthDeps> = {}): OAuthDeps => ({
  db: createDb(env.DB),
  callbackUrl: (id) => `https://api.test/oauth/${id}/callback`,
  jwksCooldownMs: 0,
  ...overrides,
});

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** A PKCE pair as an SPA makes it: a random verifier and its S256 challenge. */
export async function pkcePair() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

/** Who the test "is" at the provider: the knobs of its /authorize (see oidc-provider.ts). */
export type AtProvider = {
  sub?: string;
  email?: string;
  email_verified?: boolean;
  error?: string;
  alg?: "RS256" | "ES256";
  nonce?: string;
  userinfo_only?: boolean;
  userinfo_sub?: string;
};

/**
 * Follows an authorization URL to the local provider as a browser would,
 * choosing who signs in there, and returns what the provider sent back to
 * our callback (its query parameters).
 */
export async function consentAt(authorizeUrl: string, as: AtProvider = {}) {
  const url = new URL(authorizeUrl);
  for (const [key, value] of Object.entries(as)) url.searchParams.set(`as_${key}`, String(value));
  const res = await fetch(url, { redirect: "manual" });
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`provider answered ${res.status}: ${await res.text()}`);
  const back = new URL(location);
  return { callback: `${back.origin}${back.pathname}`, params: Object.fromEntries(back.searchParams) };
}

/** Signs a token at the provider with any claims, algorithm or key (attacks). */
export async function mintIdToken(
  claims: Record<string, unknown>,
  options: { alg?: "RS256" | "ES256" | "none" | "HS256-public"; key?: "unknown" } = {},
): Promise<string> {
  const res = await fetch(`${IDP}/test/id-token`, { method: "POST", body: JSON.stringify({ claims, ...options }) });
  return ((await res.json()) as { idToken: string }).idToken;
}

/** How often the provider served its JWKS and discovery document, for one issuer (`IDP` or `IDP/t/<tenant>`). */
export const providerStats = async (issuer = IDP) =>
  (await (await fetch(`${issuer}/test/stats`)).json()) as { jwksFetches: number; discoveryFetches: number };

/** Standard claims of a valid ID token for the acme provider, overridable. */
export function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: IDP,
    sub: `sub-${crypto.randomUUID()}`,
    aud: TEST_OAUTH_CLIENT.id,
    iat: now,
    exp: now + 300,
    email: "someone@idp.test",
    email_verified: true,
    ...overrides,
  };
}
