import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";

const VERSION = "v1";
const IV_BYTES = 12;

/** The user id as AES-GCM additional data: a ciphertext copied to another user's row fails to open. */
const additionalData = (userId: string) => new TextEncoder().encode(`totp-secret:${userId}`);

/**
 * Encrypts a TOTP secret for storage: AES-256-GCM with a fresh random IV,
 * bound to its owner's id. A database leak alone yields nothing usable
 * without ENCRYPTION_KEY, and a row swapped between users does not decrypt.
 * Format `v1.<iv>.<ciphertext+tag>` (base64url), so a later key or algorithm
 * can be told apart.
 */
export async function sealTotpSecret(key: CryptoKey, userId: string, secret: Uint8Array): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: additionalData(userId) },
    key,
    secret,
  );
  return `${VERSION}.${encodeBase64urlNoPadding(iv)}.${encodeBase64urlNoPadding(new Uint8Array(sealed))}`;
}

/** The secret, or null when the ciphertext is malformed, was sealed for another user, or under another key. */
export async function openTotpSecret(key: CryptoKey, userId: string, sealed: string): Promise<Uint8Array | null> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) return null;
  try {
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: decodeBase64urlIgnorePadding(iv), additionalData: additionalData(userId) },
      key,
      decodeBase64urlIgnorePadding(data),
    );
    return new Uint8Array(opened);
  } catch {
    return null;
  }
}
