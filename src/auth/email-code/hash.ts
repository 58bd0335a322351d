import { encodeHexLowerCase } from "@oslojs/encoding";
import { sha256Hex } from "../tokens";

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const bytes = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

/** The row key of an address: SHA-256 of it lower-cased (emails compare case-insensitively here). */
export const emailKey = (email: string) => sha256Hex(email.trim().toLowerCase());

/** HMAC-SHA-256 under the server key of the code, bound to the address it was sent to. */
export async function codeHash(secret: string, emailHash: string, code: string): Promise<string> {
  const message = new TextEncoder().encode(`email-code:${emailHash}:${code}`);
  return encodeHexLowerCase(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), message)));
}

/** Six uniformly random digits (rejection sampling: no modulo bias). */
export function sixDigitCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  for (;;) {
    const [n = limit] = crypto.getRandomValues(new Uint32Array(1));
    if (n < limit) return String(n % 1_000_000).padStart(6, "0");
  }
}
