import * as z from "zod";
import type { OidcProvider } from "./config";
import { fetchJson, ProviderError } from "./fetch-json";

export type OidcEndpoints = {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string | undefined;
  jwksUri: string;
};

const documentSchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  userinfo_endpoint: z.url().optional(),
  jwks_uri: z.url(),
});

/** Discovery documents change rarely; an hour per isolate keeps a sign-in to one round trip to the provider's token endpoint. */
const TTL_MS = 60 * 60 * 1000;
const cache = new Map<string, { endpoints: OidcEndpoints; expiresAt: number }>();

/**
 * The provider's endpoints from `{issuer}/.well-known/openid-configuration`,
 * with the entry's overrides on top. The document must name exactly the
 * configured issuer (OpenID Connect Discovery 4.3), so a document served from
 * elsewhere cannot substitute another issuer's keys.
 */
export async function discover(provider: OidcProvider, now = Date.now()): Promise<OidcEndpoints> {
  const hit = cache.get(provider.issuer);
  const discovered = hit && hit.expiresAt > now ? hit.endpoints : await fetchDocument(provider.issuer, now);
  return {
    authorizationUrl: provider.authorizationUrl ?? discovered.authorizationUrl,
    tokenUrl: provider.tokenUrl ?? discovered.tokenUrl,
    userinfoUrl: provider.userinfoUrl ?? discovered.userinfoUrl,
    jwksUri: discovered.jwksUri,
  };
}

async function fetchDocument(issuer: string, now: number): Promise<OidcEndpoints> {
  const parsed = documentSchema.safeParse(await fetchJson(`${issuer}/.well-known/openid-configuration`));
  if (!parsed.success) throw new ProviderError("invalid discovery document");
  if (parsed.data.issuer.replace(/\/+$/, "") !== issuer) throw new ProviderError("discovery names another issuer");
  const endpoints = {
    authorizationUrl: parsed.data.authorization_endpoint,
    tokenUrl: parsed.data.token_endpoint,
    userinfoUrl: parsed.data.userinfo_endpoint,
    jwksUri: parsed.data.jwks_uri,
  };
  cache.set(issuer, { endpoints, expiresAt: now + TTL_MS });
  return endpoints;
}
