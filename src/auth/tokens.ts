import { sign, verify } from "hono/jwt";
import type { Role } from "../db/schema";

export type AccessClaims = { sub: string; sid: string; role: Role; iat: number; exp: number };

export async function signAccessToken(
  claims: { sub: string; sid: string; role: Role },
  secret: string,
  ttlSeconds: number,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return sign({ ...claims, iat, exp: iat + ttlSeconds }, secret, "HS256");
}

/**
 * Verifies signature and expiry with HS256 pinned: a token whose header names
 * any other algorithm (`none`, `HS512`, `RS256` for key confusion) is refused
 * before its signature is even looked at. Returns null for anything invalid.
 */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessClaims | null> {
  try {
    const payload = await verify(token, secret, "HS256");
    if (typeof payload.sub !== "string" || typeof payload.sid !== "string") return null;
    if (typeof payload.exp !== "number") return null;
    return payload as unknown as AccessClaims;
  } catch {
    return null;
  }
}

/** 256 random bits, base64url: refresh, reset and verification tokens. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Tokens are stored only as this hash, so a database or KV leak yields nothing usable. */
export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
