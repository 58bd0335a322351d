import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import type { OidcProvider } from "./config";
import { fetchJson, ProviderError } from "./fetch-json";

export type OidcEndpoints = {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string | undefined;
  jwksUri: string;
};

const documentSchema = lazySchema(() =>
  z.object({
    issuer: z.string(),
    authorization_endpoint: z.url(),
    token_endpoint: z.url(),
    userinfo_endpoint: z.url().optional(),
    jwks_uri: z.url(),
  }),
);

/** Discovery documents change rarely; an hour per isolate keeps a sign-in to one round trip to the provider's token endpoint. */
const TTL_MS = 60 * 60 * 1000;
const cache = new Map<string, { endpoints: Promise<OidcEndpoints>; expiresAt: number }>();

/**
 * The provider's endpoints from `{issuer}/.well-known/openid-configuration`,
 * with the entry's overrides on top. The document must name exactly the
 * configured issuer (OpenID Connect Discovery 4.3), so a document served from
 * elsewhere cannot substitute another issuer's keys.
 */
export async function discover(provider: OidcProvider, now = Date.now()): Promise<OidcEndpoints> {
  const hit = cache.get(provider.issuer);
  const discovered = await (hit && hit.expiresAt > now ? hit.endpoints : load(provider.issuer, now));
  return {
    authorizationUrl: provider.authorizationUrl ?? discovered.authorizationUrl,
    tokenUrl: provider.tokenUrl ?? discovered.tokenUrl,
    userinfoUrl: provider.userinfoUrl ?? discovered.userinfoUrl,
    jwksUri: discovered.jwksUri,
  };
}

/**
 * Caches the fetch itself (per isolate, for `TTL_MS`), so requests arriving
 * together while the cache is cold share one fetch; a failed fetch is
 * forgotten at once, so the next request tries again.
 */
function load(issuer: string, now: number): Promise<OidcEndpoints> {
  const endpoints = fetchDocument(issuer);
  cache.set(issuer, { endpoints, expiresAt: now + TTL_MS });
  endpoints.catch(() => {
    if (cache.get(issuer)?.endpoints === endpoints) cache.delete(issuer);
  });
  return endpoints;
}

async function fetchDocument(issuer: string): Promise<OidcEndpoints> {
  const parsed = documentSchema.safeParse(await fetchJson(`${issuer}/.well-known/openid-configuration`));
  if (!parsed.success) throw new ProviderError("invalid discovery document");
  if (parsed.data.issuer.replace(/\/+$/, "") !== issuer) throw new ProviderError("discovery names another issuer");
  return {
    authorizationUrl: parsed.data.authorization_endpoint,
    tokenUrl: parsed.data.token_endpoint,
    userinfoUrl: parsed.data.userinfo_endpoint,
    jwksUri: parsed.data.jwks_uri,
  };
}
