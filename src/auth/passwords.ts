import { compare, getRounds, hash } from "bcrypt-ts";
import type { ErrorDetail } from "../http/errors";
import { validationError } from "../http/errors";
import { COMMON_PASSWORDS } from "./common-passwords";

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72;

export const hashPassword = (password: string, cost: number) => hash(password, cost);

/** The work factor a bcrypt hash was made with. */
export const hashCost = (passwordHash: string) => getRounds(passwordHash);

/**
 * bcrypt compares only the first 72 bytes, so without the length check the
 * stored password plus any suffix would also match. No stored password is
 * longer (registration refuses it), so a longer one is simply wrong; the hash
 * is still compared so that answer costs the same time.
 */
export const verifyPassword = async (password: string, passwordHash: string) =>
  (await compare(password, passwordHash)) && utf8Length(password) <= MAX_PASSWORD_BYTES;

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash to compare against when the email is unknown, so a login for a
 * missing account costs the same bcrypt work as a wrong password and timing
 * does not reveal which accounts exist. Made once per isolate and cost.
 */
export function dummyHash(cost: number): Promise<string> {
  let h = dummyHashes.get(cost);
  if (!h) {
    h = hash(crypto.randomUUID(), cost);
    dummyHashes.set(cost, h);
  }
  return h;
}

export const utf8Length = (s: string) => new TextEncoder().encode(s).byteLength;

/** The contract's password rules, as validation details for `field`. */
export function passwordProblems(
  password: string,
  minLength: number,
  identity: { email?: string; username?: string },
  field = "password",
): ErrorDetail[] {
  const problems: string[] = [];
  if ([...password].length < minLength) problems.push(`Password must be at least ${minLength} characters`);
  if (utf8Length(password) > MAX_PASSWORD_BYTES) problems.push(`Password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) problems.push("Password is too common");
  if (
    (identity.email && lowered === identity.email.toLowerCase()) ||
    (identity.username && lowered === identity.username.toLowerCase())
  ) {
    problems.push("Password must not equal the email or username");
  }
  return problems.map((message) => ({ path: field, message }));
}

export function assertAcceptablePassword(
  password: string,
  minLength: number,
  identity: { email?: string; username?: string },
  field = "password",
) {
  const problems = passwordProblems(password, minLength, identity, field);
  if (problems.length) throw validationError(problems);
}
