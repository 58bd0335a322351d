import type { HonoJsonWebKey } from "hono/utils/jwt/jws";
import * as z from "zod";
import { lazySchema } from "../../openapi/lazy-schema";
import { fetchJson, ProviderError } from "./fetch-json";

/** Keys per JWKS URI, per isolate, with when they were fetched. */
const cache = new Map<string, { keys: HonoJsonWebKey[]; fetchedAt: number }>();

/** Refresh a cached set this often even without an unknown kid, so a revoked key stops working. */
const MAX_AGE_MS = 60 * 60 * 1000;
const DEFAULT_COOLDOWN_MS = 30_000;

const jwksSchema = lazySchema(() =>
  z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) }),
);

async function load(jwksUri: string, now: number) {
  const parsed = jwksSchema.safeParse(await fetchJson(jwksUri));
  if (!parsed.success) throw new ProviderError("invalid JWKS");
  // Public keys only: a symmetric ("oct") entry in a JWKS would be a secret anyone can read.
  const keys = parsed.data.keys.filter((k) => k.kty === "RSA" || k.kty === "EC") as HonoJsonWebKey[];
  const entry = { keys, fetchedAt: now };
  cache.set(jwksUri, entry);
  return entry;
}

/**
 * The provider's public keys for a token naming `kid`: cached per isolate,
 * fetched again when the cached set lacks that kid (key rotation), but at
 * most once per `cooldownMs`, so tokens with made-up kids cannot turn us
 * into a request amplifier against the provider.
 */
export async function jwksKeys(
  jwksUri: string,
  kid: string | undefined,
  now: number,
  cooldownMs = DEFAULT_COOLDOWN_MS,
): Promise<HonoJsonWebKey[]> {
  let entry = cache.get(jwksUri);
  if (!entry || now - entry.fetchedAt > MAX_AGE_MS) entry = await load(jwksUri, now);
  if (kid !== undefined && !entry.keys.some((k) => k.kid === kid) && now - entry.fetchedAt >= cooldownMs)
    entry = await load(jwksUri, now);
  return entry.keys;
}
