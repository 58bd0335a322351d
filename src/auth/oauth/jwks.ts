import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { fetchJson, ProviderError } from "./fetch-json";

/** Keys per JWKS URI, per isolate, with when they were fetched. */
const cache = new Map<string, { keys: JWTVerifyGetKey; fetchedAt: number }>();

/** Refresh a cached set this often even without an unknown kid, so a revoked key stops working. */
const MAX_AGE_MS = 60 * 60 * 1000;
const DEFAULT_COOLDOWN_MS = 30_000;

async function load(jwksUri: string, now: number) {
  const body = await fetchJson(jwksUri);
  let keys: JWTVerifyGetKey;
  try {
    keys = createLocalJWKSet(body as JSONWebKeySet);
  } catch {
    throw new ProviderError("invalid JWKS");
  }
  const entry = { keys, fetchedAt: now };
  cache.set(jwksUri, entry);
  return entry;
}

/**
 * A key resolver for `jwtVerify` backed by the provider's JWKS: cached per
 * isolate, fetched again when a token names a `kid` the cached set lacks
 * (key rotation), but at most once per `cooldownMs`, so tokens with made-up
 * kids cannot turn us into a request amplifier against the provider. Only
 * asymmetric keys are in a JWKS, so an HS256 token "signed" with a public
 * key finds no key here (and the allowed algorithms refuse it first).
 */
export function jwksKeys(jwksUri: string, now: number, cooldownMs = DEFAULT_COOLDOWN_MS): JWTVerifyGetKey {
  return async (header, token) => {
    let entry = cache.get(jwksUri);
    if (!entry || now - entry.fetchedAt > MAX_AGE_MS) entry = await load(jwksUri, now);
    try {
      return await entry.keys(header, token);
    } catch (error) {
      const unknownKid = error instanceof errors.JWKSNoMatchingKey;
      if (!unknownKid || now - entry.fetchedAt < cooldownMs) throw error;
      return (await load(jwksUri, now)).keys(header, token);
    }
  };
}
