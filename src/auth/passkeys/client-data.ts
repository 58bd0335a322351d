import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { type AuthenticatorData, ClientDataType, parseClientDataJSON } from "@oslojs/webauthn";
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
): { ok: true; challenge: string } | { ok: false; reason: CeremonyFailure } {
  let clientData: ReturnType<typeof parseClientDataJSON>;
  try {
    clientData = parseClientDataJSON(clientDataJSON);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const type = expectedType === "create" ? ClientDataType.Create : ClientDataType.Get;
  if (clientData.type !== type) return { ok: false, reason: "type" };
  // Exact match: a look-alike origin (a phishing page, another port) is refused, and so is an iframe on another site.
  if (!config.origins.includes(clientData.origin) || clientData.crossOrigin === true)
    return { ok: false, reason: "origin" };
  return { ok: true, challenge: encodeBase64urlNoPadding(clientData.challenge) };
}

/**
 * authenticatorData must be made for our RP ID, with the user present (UP)
 * and verified (UV: PIN or biometrics), which is what makes a passkey count
 * as two factors and as a step-up proof.
 */
export function checkAuthenticatorData(config: PasskeyConfig, data: AuthenticatorData): CeremonyFailure | null {
  if (!data.verifyRelyingPartyIdHash(config.rpId)) return "rp_id";
  if (!data.userPresent) return "user_presence";
  if (!data.userVerified) return "user_verification";
  return null;
}

/** The backup flags (BE 0x08, BS 0x10), which the parser does not expose, read from the flags byte. */
export function backupState(authenticatorData: Uint8Array) {
  const flags = authenticatorData[32] ?? 0;
  return {
    deviceType: flags & 0x08 ? ("multiDevice" as const) : ("singleDevice" as const),
    backedUp: (flags & 0x10) !== 0,
  };
}
