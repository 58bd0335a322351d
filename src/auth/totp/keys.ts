import type { Config } from "../../env";
import { AppError } from "../../http/errors";
import { utf8Length } from "../passwords";

export const MIN_ENCRYPTION_KEY_BYTES = 32;

export type EncryptionConfig = Pick<Config, "ENCRYPTION_KEY">;

/**
 * The ENCRYPTION_KEY secret, or `503 MISCONFIGURED` naming it (never its
 * value). Optional in the config on purpose: a Worker with no account using
 * MFA runs without it, and only the code paths that need it refuse.
 */
export function requireEncryptionKey(config: EncryptionConfig): string {
  const key = config.ENCRYPTION_KEY;
  if (!key) throw new AppError(503, "MISCONFIGURED", "Server misconfigured: ENCRYPTION_KEY is not set");
  if (utf8Length(key) < MIN_ENCRYPTION_KEY_BYTES) {
    throw new AppError(
      503,
      "MISCONFIGURED",
      `Server misconfigured: ENCRYPTION_KEY must be at least ${MIN_ENCRYPTION_KEY_BYTES} bytes`,
    );
  }
  return key;
}

/** Keys derived from ENCRYPTION_KEY, one per purpose, so no key serves two algorithms. */
export type MfaKeys = { totpSecretKey: CryptoKey; recoveryCodeKey: CryptoKey };

const derived = new Map<string, Promise<MfaKeys>>();
const encoder = new TextEncoder();
const SALT = encoder.encode("edge-user-management/mfa");

async function deriveKeys(secret: string): Promise<MfaKeys> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  const hkdf = (info: string) => ({ name: "HKDF", hash: "SHA-256", salt: SALT, info: encoder.encode(info) });
  const [totpSecretKey, recoveryCodeKey] = await Promise.all([
    crypto.subtle.deriveKey(hkdf("totp-secret/v1"), base, { name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]),
    crypto.subtle.deriveKey(hkdf("recovery-code/v1"), base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, [
      "sign",
    ]),
  ]);
  return { totpSecretKey, recoveryCodeKey };
}

/** The MFA keys for the configured ENCRYPTION_KEY, derived once per isolate. Throws 503 when the key is missing or short. */
export function mfaKeys(config: EncryptionConfig): Promise<MfaKeys> {
  const secret = requireEncryptionKey(config);
  let keys = derived.get(secret);
  if (!keys) {
    keys = deriveKeys(secret);
    derived.set(secret, keys);
  }
  return keys;
}
