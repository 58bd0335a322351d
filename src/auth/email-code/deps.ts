import type { Db } from "../../db/client";

/**
 * What the email-code services need, passed explicitly so tests call them
 * directly. `secret` (the server's JWT_SECRET) keys the code hashes: a
 * six-digit code hashed without a key would fall to a million guesses
 * against a copy of the database.
 */
export type EmailCodeDeps = { db: Db; secret: string; now?: () => number };

export { clock } from "../clock";

export const EMAIL_CODE_TTL_SECONDS = 10 * 60;
export const EMAIL_CODE_MAX_ATTEMPTS = 5;
