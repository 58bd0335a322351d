import { encodeBase64urlNoPadding } from "@oslojs/encoding";

/** A credential's public key as stored: its COSE algorithm and the key as a JWK. */
export type StoredKey = { algorithm: number; jwk: JsonWebKey };

/** COSE algorithms (RFC 9053) we offer: ES256, EdDSA (Ed25519), RS256. */
export const ES256 = -7;
export const EDDSA = -8;
export const RS256 = -257;

const bytesOf = (v: unknown) => (v instanceof Uint8Array ? v : null);

/**
 * The COSE key (RFC 9052 §7, a CBOR map whose labels arrive as strings) of a
 * new credential as a JWK, for one of the algorithms we offered: ES256 on
 * P-256, EdDSA on Ed25519, RS256 with at least 2048 bits; null for anything
 * else. The key is imported once here, so a key Web Crypto would refuse is
 * never stored.
 */
export async function storedKeyFromCose(cose: Record<string, unknown>): Promise<StoredKey | null> {
  const [kty, alg, crv] = [cose["1"], cose["3"], cose["-1"]];
  const x = bytesOf(cose["-2"]);
  let jwk: JsonWebKey | null = null;
  if (alg === ES256 && kty === 2 && crv === 1) {
    const y = bytesOf(cose["-3"]);
    if (x?.length === 32 && y?.length === 32)
      jwk = { kty: "EC", crv: "P-256", x: encodeBase64urlNoPadding(x), y: encodeBase64urlNoPadding(y) };
  } else if (alg === EDDSA && kty === 1 && crv === 6) {
    if (x?.length === 32) jwk = { kty: "OKP", crv: "Ed25519", x: encodeBase64urlNoPadding(x) };
  } else if (alg === RS256 && kty === 3) {
    const n = bytesOf(crv);
    if (n && x && n.length >= 256) jwk = { kty: "RSA", n: encodeBase64urlNoPadding(n), e: encodeBase64urlNoPadding(x) };
  }
  if (!jwk) return null;
  try {
    await importKey({ algorithm: alg as number, jwk });
    return { algorithm: alg as number, jwk };
  } catch {
    return null;
  }
}

function importKey({ algorithm, jwk }: StoredKey): Promise<CryptoKey> {
  const params =
    algorithm === ES256
      ? { name: "ECDSA", namedCurve: "P-256" }
      : algorithm === EDDSA
        ? { name: "Ed25519" }
        : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return crypto.subtle.importKey("jwk", jwk, params, false, ["verify"]);
}

/** Verifies an assertion signature (DER-encoded for ECDSA, as WebAuthn sends it) over `message`. */
export async function verifySignature(key: StoredKey, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  try {
    const publicKey = await importKey(key);
    if (key.algorithm === ES256) {
      const raw = derToP1363(signature);
      return raw !== null && (await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, raw, message));
    }
    const name = key.algorithm === EDDSA ? "Ed25519" : "RSASSA-PKCS1-v1_5";
    return await crypto.subtle.verify(name, publicKey, signature, message);
  } catch {
    return false;
  }
}

/**
 * An ECDSA P-256 signature from DER (SEQUENCE { INTEGER r, INTEGER s }) to
 * the r‖s form Web Crypto verifies; null unless it is exactly that, with
 * short-form lengths (a P-256 signature never needs more) and no trailing bytes.
 */
export function derToP1363(der: Uint8Array): Uint8Array | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  const out = new Uint8Array(64);
  let at = 2;
  for (const offset of [0, 32]) {
    const length = der[at + 1] ?? 0;
    if (der[at] !== 0x02 || length < 1 || length > 33 || at + 2 + length > der.length) return null;
    let value = der.subarray(at + 2, at + 2 + length);
    if (value.length === 33) {
      if (value[0] !== 0) return null;
      value = value.subarray(1);
    }
    out.set(value, offset + 32 - value.length);
    at += 2 + length;
  }
  return at === der.length ? out : null;
}
