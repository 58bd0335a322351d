import { decodeCbor } from "./cbor";

/** authenticatorData (WebAuthn §6.1), as far as the relying party reads it. */
export type AuthenticatorData = {
  rpIdHash: Uint8Array;
  userPresent: boolean;
  userVerified: boolean;
  /** BE: the credential may be synced (a multi-device passkey). */
  backupEligible: boolean;
  /** BS: it is backed up now. */
  backedUp: boolean;
  signCount: number;
  /** Present in registrations (AT flag): the new credential's id and COSE key (CBOR map, keys as strings). */
  credential: { id: Uint8Array; publicKey: Record<string, unknown> } | null;
};

const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;
const ED = 0x80;

/**
 * Parses authenticatorData: rpIdHash (32) ‖ flags (1) ‖ signCount (4, big
 * endian) ‖ [attested credential: AAGUID (16) ‖ id length (2) ‖ id ‖ COSE
 * key] ‖ [extensions]. Null for anything truncated, or with bytes left over
 * that no flag announced. The CBOR is read by ./cbor.ts, depth-limited.
 */
export function parseAuthenticatorData(bytes: Uint8Array): AuthenticatorData | null {
  if (bytes.length < 37) return null;
  const flags = bytes[32] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let credential: AuthenticatorData["credential"] = null;
  let end = 37;
  if (flags & AT) {
    if (bytes.length < 55) return null;
    const idLength = view.getUint16(53);
    if (idLength > 1023 || bytes.length < 55 + idLength) return null;
    const id = bytes.slice(55, 55 + idLength);
    try {
      const [publicKey, size] = decodeCbor(bytes.subarray(55 + idLength));
      if (publicKey === null || typeof publicKey !== "object" || Array.isArray(publicKey)) return null;
      credential = { id, publicKey: publicKey as Record<string, unknown> };
      end = 55 + idLength + size;
    } catch {
      return null;
    }
  }
  // Extensions (ED) are not used; without the flag nothing may follow.
  if (!(flags & ED) && end !== bytes.length) return null;
  return {
    rpIdHash: bytes.slice(0, 32),
    userPresent: (flags & UP) !== 0,
    userVerified: (flags & UV) !== 0,
    backupEligible: (flags & BE) !== 0,
    backedUp: (flags & BS) !== 0,
    signCount: view.getUint32(33),
    credential,
  };
}
