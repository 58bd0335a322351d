import type { AuthenticatorData } from "./authenticator-data";
import type { PasskeyConfig } from "./config";

/** Why a ceremony's response was refused (for the audit line; the client only hears "invalid"). */
export type CeremonyFailure =
  | "malformed"
  | "challenge"
  | "origin"
  | "type"
  | "rp_id"
  | "user_presence"
  | "user_verification"
  | "algorithm"
  | "signature"
  | "unknown_credential"
  | "wrong_user"
  | "counter_regression"
  | "credential_exists";

/** clientDataJSON of a ceremony: its type and its origin, one of ours, and the challenge it signed. */
export function readClientData(
  config: PasskeyConfig,
  clientDataJSON: Uint8Array,
  expectedType: "create" | "get",
): { ok: true; challenge: string } | { ok: false; reason: CeremonyFailure; challenge?: string } {
  let parsed: { type?: unknown; challenge?: unknown; origin?: unknown; crossOrigin?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(clientDataJSON));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (parsed === null || typeof parsed !== "object") return { ok: false, reason: "malformed" };
  const { type, challenge, origin, crossOrigin } = parsed;
  if (typeof challenge !== "string" || typeof origin !== "string") return { ok: false, reason: "malformed" };
  // The challenge comes back with a refusal too, so the caller can spend it.
  if (type !== `webauthn.${expectedType}`) return { ok: false, reason: "type", challenge };
  // Exact match: a look-alike origin (a phishing page, another port) is refused, and so is an iframe on another site.
  if (!config.origins.includes(origin) || crossOrigin === true) return { ok: false, reason: "origin", challenge };
  // Browsers send the challenge base64url without padding, exactly as we issued it; compared as text.
  return { ok: true, challenge };
}

/**
 * authenticatorData must be made for our RP ID, with the user present (UP)
 * and verified (UV: PIN or biometrics), which is what makes a passkey count
 * as two factors and as a step-up proof.
 */
export async function checkAuthenticatorData(
  config: PasskeyConfig,
  data: AuthenticatorData,
): Promise<CeremonyFailure | null> {
  const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(config.rpId)));
  if (!equalBytes(expected, data.rpIdHash)) return "rp_id";
  if (!data.userPresent) return "user_presence";
  if (!data.userVerified) return "user_verification";
  return null;
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
