import { encodeHexLowerCase } from "@oslojs/encoding";
import { emailField } from "../../users/fields";
import { hmacSha256, sha256Hex } from "../tokens";

/**
 * An address as /register stores it and /login compares it (`emailField`:
 * trimmed, lower-cased), so a code is keyed, looked up and claimed under the
 * very string the account row holds.
 */
export const normalEmail = (email: string) => emailField.parse(email);

/** The row key of a normalised address: its SHA-256 (the table never holds an address). */
export const emailKey = (normalisedEmail: string) => sha256Hex(normalisedEmail);

/** HMAC-SHA-256 under the server key of the code, bound to the address it was sent to. */
export async function codeHash(secret: string, emailHash: string, code: string): Promise<string> {
  return encodeHexLowerCase(await hmacSha256(secret, `email-code:${emailHash}:${code}`));
}

/** Six uniformly random digits (rejection sampling: no modulo bias). */
export function sixDigitCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  for (;;) {
    const [n = limit] = crypto.getRandomValues(new Uint32Array(1));
    if (n < limit) return String(n % 1_000_000).padStart(6, "0");
  }
}

/**
 * HMAC-SHA-256 of a step-up code, bound to its purpose, account, session and
 * the address it was mailed to: the `step-up:` label keeps it from ever
 * matching a login code's hash, and once the account's address changes, a
 * code mailed to the old one no longer matches.
 */
export async function stepUpCodeHash(secret: string, owner: StepUpCodeOwner, code: string): Promise<string> {
  const label = `step-up:${owner.userId}:${owner.sessionId}:${owner.email}:${code}`;
  return encodeHexLowerCase(await hmacSha256(secret, label));
}

/** Whom a step-up code belongs to: the account, the session that asked for it, and the address it went to. */
export type StepUpCodeOwner = { userId: string; sessionId: string; email: string };
