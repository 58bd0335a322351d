import { encodeHexLowerCase } from "@oslojs/encoding";
import { hmacSha256, sha256Hex } from "../tokens";

/** The row key of an address: SHA-256 of it lower-cased (emails compare case-insensitively here). */
export const emailKey = (email: string) => sha256Hex(email.trim().toLowerCase());

/** HMAC-SHA-256 under the server key of the code, bound to the address it was sent to. */
export async function codeHash(secret: string, emailHash: string, code: string): Promise<string> {
  return encodeHexLowerCase(await hmacSha256(secret, `email-code:${emailHash}:${code}`));
}

/** Six uniformly random digits (rejection sampling: no modulo bias). */
export function sixDigitCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  for (;;) {
    const [n = limit] = crypto.getRandomValues(new Uint32Array(1));
    if (n < limit) return String(n % 1_000_000).padStart(6, "0");
  }
}
