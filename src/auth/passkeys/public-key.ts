import { decodePKIXECDSASignature, p256 } from "@oslojs/crypto/ecdsa";
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import {
  COSEKeyType,
  type COSEPublicKey,
  coseAlgorithmEdDSA,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveEd25519,
  coseEllipticCurveP256,
} from "@oslojs/webauthn";

/** A credential's public key as stored: its COSE algorithm and the key as a JWK. */
export type StoredKey = { algorithm: number; jwk: JsonWebKey };

const bigintBytes = (n: bigint, length?: number) => {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (length !== undefined) hex = hex.padStart(length * 2, "0");
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
};

/**
 * The COSE key of a new credential as a JWK, for one of the algorithms we
 * offered (ES256 on P-256, EdDSA on Ed25519, RS256 with at least 2048 bits);
 * null for anything else. The key is imported once here, so a key Web Crypto
 * would refuse never gets stored.
 */
export async function storedKeyFromCose(key: COSEPublicKey): Promise<StoredKey | null> {
  try {
    const algorithm = key.algorithm();
    let jwk: JsonWebKey;
    if (algorithm === coseAlgorithmES256 && key.type() === COSEKeyType.EC2) {
      const ec = key.ec2();
      if (ec.curve !== coseEllipticCurveP256) return null;
      const coord = (n: bigint) => encodeBase64urlNoPadding(bigintBytes(n, 32));
      jwk = { kty: "EC", crv: "P-256", x: coord(ec.x), y: coord(ec.y) };
    } else if (algorithm === coseAlgorithmEdDSA && key.type() === COSEKeyType.OKP) {
      const okp = key.okp();
      if (okp.curve !== coseEllipticCurveEd25519) return null;
      jwk = { kty: "OKP", crv: "Ed25519", x: encodeBase64urlNoPadding(okp.x) };
    } else if (algorithm === coseAlgorithmRS256 && key.type() === COSEKeyType.RSA) {
      const rsa = key.rsa();
      if (rsa.n.toString(2).length < 2048) return null;
      jwk = {
        kty: "RSA",
        n: encodeBase64urlNoPadding(bigintBytes(rsa.n)),
        e: encodeBase64urlNoPadding(bigintBytes(rsa.e)),
      };
    } else {
      return null;
    }
    await importKey({ algorithm, jwk });
    return { algorithm, jwk };
  } catch {
    return null;
  }
}

function importKey({ algorithm, jwk }: StoredKey): Promise<CryptoKey> {
  const params =
    algorithm === coseAlgorithmES256
      ? { name: "ECDSA", namedCurve: "P-256" }
      : algorithm === coseAlgorithmEdDSA
        ? { name: "Ed25519" }
        : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return crypto.subtle.importKey("jwk", jwk, params, false, ["verify"]);
}

/** Verifies an assertion signature (DER-encoded for ECDSA, as WebAuthn sends it) over `message`. */
export async function verifySignature(key: StoredKey, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  try {
    const publicKey = await importKey(key);
    if (key.algorithm === coseAlgorithmES256) {
      const raw = decodePKIXECDSASignature(signature).encodeIEEEP1363(p256);
      return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, raw, message);
    }
    const name = key.algorithm === coseAlgorithmEdDSA ? "Ed25519" : "RSASSA-PKCS1-v1_5";
    return await crypto.subtle.verify(name, publicKey, signature, message);
  } catch {
    return false;
  }
}
