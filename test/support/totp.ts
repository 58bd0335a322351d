import { createHmac } from "node:crypto";

/**
 * TOTP computed independently of src/ (node:crypto's HMAC, our own base32
 * decoding), so the tests check the service against RFC 6238 rather than
 * against itself. test/totp.test.ts checks this against the RFC's vectors.
 */

export type HmacAlgorithm = "sha1" | "sha256" | "sha512";

/** RFC 4226 HOTP: HMAC over the 8-byte big-endian counter, dynamic truncation. */
export function hotp(key: Uint8Array, counter: number, digits = 6, algorithm: HmacAlgorithm = "sha1"): string {
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(counter));
  const mac = new Uint8Array(createHmac(algorithm, key).update(message).digest());
  const offset = (mac.at(-1) as number) & 0x0f;
  const binary = new DataView(mac.buffer, mac.byteOffset).getUint32(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** RFC 6238 TOTP at a unix time in seconds (30-second steps by default). */
export const totpAt = (key: Uint8Array, unixSeconds: number, digits = 6, algorithm: HmacAlgorithm = "sha1") =>
  hotp(key, Math.floor(unixSeconds / 30), digits, algorithm);

/** The code an authenticator app would show `drift` steps away from `nowMs`. */
export const totpCode = (key: Uint8Array, nowMs: number, drift = 0) => totpAt(key, nowMs / 1000 + drift * 30);

/** RFC 4648 base32 (what authenticator apps read from the otpauth URI), padding optional. */
export function base32Decode(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** A time in the middle of a 30-second step, so a test cannot straddle a step boundary. */
export const midStep = (step = Math.floor(Date.now() / 30_000)) => step * 30_000 + 15_000;

/** `count` six-digit codes that no step within ±1 of `nowMs` produces: certainly wrong, never flaky. */
export function wrongCodes(key: Uint8Array, nowMs: number, count: number): string[] {
  const window = new Set([-1, 0, 1].map((drift) => totpCode(key, nowMs, drift)));
  const codes: string[] = [];
  for (let n = Number(totpCode(key, nowMs)) + 1; codes.length < count; n++) {
    const code = String(n % 1_000_000).padStart(6, "0");
    if (!window.has(code)) codes.push(code);
  }
  return codes;
}
