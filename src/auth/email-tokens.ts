import { randomToken, sha256Hex } from "./tokens";

export type EmailTokenPurpose = "reset" | "verify";

/** What KV holds for a token. `binding` is a SHA-256 of the secret state the token was issued against. */
type EmailTokenRecord = { userId: string; purpose: EmailTokenPurpose; binding: string; expiresAt: number };

export type EmailToken = { key: string; userId: string; binding: string };

/** The KV key: only the token's SHA-256, so a KV dump or log of keys yields no usable token. */
export const emailTokenKey = async (purpose: EmailTokenPurpose, token: string) =>
  `email-token:${purpose}:${await sha256Hex(token)}`;

/**
 * A fingerprint of what a token is bound to:
 * - a reset token is bound to the password hash and the email address it was
 *   issued against (`resetBinding`), so it dies the moment either changes, by
 *   any route, even in a location where KV has not yet seen the token's
 *   deletion (KV converges in ~60 s): a link mailed to an address the account
 *   has left cannot take the account back;
 * - a verification token is bound to the email address it was sent to, so
 *   it cannot verify an address the account has since changed to.
 */
export const bindingOf = (secretState: string) => sha256Hex(`email-token-binding:${secretState}`);

/** What a reset token is bound to: the password hash and the address it was mailed to. */
export const resetBinding = (user: { passwordHash: string; email: string }) =>
  `reset:${user.passwordHash}:${user.email.toLowerCase()}`;

/** Issues a token of 256 random bits, stored only as its hash, expiring (in KV and in the record) after `ttlSeconds`. */
export async function issueEmailToken(
  kv: KVNamespace,
  purpose: EmailTokenPurpose,
  subject: { userId: string; boundTo: string },
  ttlSeconds: number,
): Promise<string> {
  const token = randomToken();
  const record: EmailTokenRecord = {
    userId: subject.userId,
    purpose,
    binding: await bindingOf(subject.boundTo),
    expiresAt: Date.now() + ttlSeconds * 1000,
  };
  // KV refuses TTLs under 60 s; the record's own expiresAt still holds a shorter one.
  await kv.put(await emailTokenKey(purpose, token), JSON.stringify(record), {
    expirationTtl: Math.max(60, ttlSeconds),
  });
  return token;
}

/**
 * Looks a token up without consuming it, so a request that fails validation
 * (a weak new password) leaves the link usable. Expired, malformed or
 * other-purpose records count as absent. The caller must still compare
 * `binding` with the current state, make its write conditional on that state,
 * and then `discardEmailToken`.
 */
export async function findEmailToken(
  kv: KVNamespace,
  purpose: EmailTokenPurpose,
  token: string,
): Promise<EmailToken | null> {
  const key = await emailTokenKey(purpose, token);
  const raw = await kv.get(key);
  if (!raw) return null;
  let record: Partial<EmailTokenRecord>;
  try {
    record = JSON.parse(raw);
  } catch {
    return null;
  }
  // KV deletes expired keys lazily and per location; the record's own expiry is authoritative.
  if (record.purpose !== purpose || typeof record.expiresAt !== "number" || record.expiresAt <= Date.now()) return null;
  if (typeof record.userId !== "string" || typeof record.binding !== "string") return null;
  return { key, userId: record.userId, binding: record.binding };
}

export const isBoundTo = async (token: EmailToken, secretState: string) =>
  token.binding === (await bindingOf(secretState));

/** Single use: the token is deleted once it has done its work. */
export const discardEmailToken = (kv: KVNamespace, token: EmailToken) => kv.delete(token.key);
