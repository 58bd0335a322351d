import { encodeBase32NoPadding } from "@oslojs/encoding";
import { createTOTPKeyURI, verifyHOTP } from "@oslojs/otp";

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
    otpauthUrl: createTOTPKeyURI(issuer, email, secret, TOTP_PERIOD_SECONDS, TOTP_DIGITS),
  };
}

const SIX_DIGITS = /^\d{6}$/;

/**
 * The time step a code belongs to, within ±1 step of `nowMs`, or null. The
 * caller must still accept the step atomically (it is single use). Every
 * candidate is compared (constant-time, no early exit), so timing does not
 * tell which step matched.
 */
export function matchTotpStep(secret: Uint8Array, code: string, nowMs: number): number | null {
  if (!SIX_DIGITS.test(code)) return null;
  const current = timeStep(nowMs);
  let matched: number | null = null;
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    const ok = verifyHOTP(secret, BigInt(step), TOTP_DIGITS, code);
    if (ok && matched === null) matched = step;
  }
  return matched;
}
