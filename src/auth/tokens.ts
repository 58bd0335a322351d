import { sign, verify } from "hono/jwt";
import type { Role } from "../db/schema";

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for a secret, imported once per isolate rather than on every sign and verify. */
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const bytes = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

/**
 * `jti`: a random id per access token, so a step-up proof can be bound to the
 * token that made it (step-up/proof.ts). Optional: a token signed before it
 * existed still verifies, it just never carries a recent proof.
 */
export type AccessClaims = { sub: string; sid: string; role: Role; iat: number; exp: number; jti?: string };

/** Signs an access token with a fresh random `jti` (128 bits): two tokens of one session are never the same token. */
export async function signAccessToken(
  claims: { sub: string; sid: string; role: Role },
  secret: string,
  ttlSeconds: number,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const jti = base64url(crypto.getRandomValues(new Uint8Array(16)));
  return sign({ ...claims, iat, exp: iat + ttlSeconds, jti }, await hmacKey(secret), "HS256");
}

/**
 * Verifies signature and expiry with HS256 pinned: a token whose header names
 * any other algorithm (`none`, `HS512`, `RS256` for key confusion) is refused
 * before its signature is even looked at. Returns null for anything invalid.
 */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessClaims | null> {
  try {
    const payload = await verify(token, await hmacKey(secret), "HS256");
    if (typeof payload.sub !== "string" || typeof payload.sid !== "string") return null;
    if (typeof payload.exp !== "number") return null;
    if (payload.jti !== undefined && typeof payload.jti !== "string") return null;
    return payload as unknown as AccessClaims;
  } catch {
    return null;
  }
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** 256 random bits, base64url: refresh, reset and verification tokens. */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The secret of the refresh token that succeeds `refreshToken`: 256 bits of
 * HMAC-SHA-256 under the server key. Deterministic, so a retry of the same
 * token within the reuse grace gets the same successor instead of a second
 * live token; unpredictable to anyone without the key, so an old token (or a
 * database dump of hashes) never yields its successor. The `:` in the message
 * cannot occur in a JWT signing input, so no access-token signature can equal
 * one of these.
 */
export async function nextRefreshSecret(secret: string, refreshToken: string): Promise<string> {
  return base64url(await hmacSha256(secret, `refresh-successor:${refreshToken}`));
}

/**
 * HMAC-SHA-256 of `message` under the server key. Callers prefix the message
 * with their purpose (`refresh-successor:`, `email-code:`, `passkey-decoy:`),
 * so a MAC made for one use is never valid for another.
 */
export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(message));
  return new Uint8Array(mac);
}

/** Tokens are stored only as this hash, so a database or KV leak yields nothing usable. */
export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
