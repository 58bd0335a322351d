import { encodeBase32NoPadding } from "@oslojs/encoding";

/** RFC 6238 as every authenticator app defaults to it: HMAC-SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock drift accepted either side of now (±30 s). */
export const TOTP_DRIFT_STEPS = 1;
/** 160 bits, the HMAC-SHA-1 block-friendly size RFC 4226 recommends. */
export const TOTP_SECRET_BYTES = 20;
/** The issuer shown in authenticator apps. */
export const TOTP_ISSUER = "Edge Users";

export const timeStep = (nowMs: number) => Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);

export const newTotpSecret = () => crypto.getRandomValues(new Uint8Array(TOTP_SECRET_BYTES));

/** What an authenticator app needs: the base32 secret and the `otpauth://totp/<issuer>:<email>?…` URI. */
export function totpKeyUri(secret: Uint8Array, email: string, issuer = TOTP_ISSUER) {
  return {
    secret: encodeBase32NoPadding(secret),
    otpauthUrl: totpUri(issuer, email, secret),
  };
}

/** The Key URI Format (`otpauth://totp/<issuer>:<account>?issuer=…&algorithm=SHA1&secret=…&period=30&digits=6`). */
function totpUri(issuer: string, account: string, secret: Uint8Array) {
  const params = new URLSearchParams({
    issuer,
    algorithm: "SHA1",
    secret: encodeBase32NoPadding(secret),
    period: String(TOTP_PERIOD_SECONDS),
    digits: String(TOTP_DIGITS),
  });
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?${params}`;
}

/**
 * RFC 4226 HOTP (HMAC-SHA-1, dynamic truncation) with Web Crypto, as
 * `TOTP_DIGITS` decimal digits: the code of time step `counter` for RFC 6238.
 */
export async function hotp(secret: Uint8Array, counter: number, digits = TOTP_DIGITS): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const message = new DataView(new ArrayBuffer(8));
  message.setBigUint64(0, BigInt(counter));
  const mac = new DataView(await crypto.subtle.sign("HMAC", key, message));
  const offset = mac.getUint8(19) & 0x0f;
  return String((mac.getUint32(offset) & 0x7fffffff) % 10 ** digits).padStart(digits, "0");
}

/** Compares two equal-length digit strings without an early exit (no timing signal on which digit differs). */
function sameDigits(a: string, b: string) {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const SIX_DIGITS = /^\d{6}$/;

/**
 * The time step a code belongs to, within ±1 step of `nowMs`, or null. The
 * caller must still accept the step atomically (it is single use). Every
 * candidate is compared (constant-time, no early exit), so timing does not
 * tell which step matched.
 */
export async function matchTotpStep(secret: Uint8Array, code: string, nowMs: number): Promise<number | null> {
  if (!SIX_DIGITS.test(code)) return null;
  const current = timeStep(nowMs);
  let matched: number | null = null;
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    const ok = sameDigits(await hotp(secret, step), code);
    if (ok && matched === null) matched = step;
  }
  return matched;
}
