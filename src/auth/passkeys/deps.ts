import type { Db } from "../../db/client";
import type { PasskeyConfig } from "./config";

/**
 * What the passkey services need, passed explicitly (not Hono's Context) so
 * tests call them directly. `decoyKey` (the server's JWT_SECRET) makes the
 * stand-in credential ids of unknown emails; `now` lets tests move the clock.
 */
export type PasskeyDeps = { db: Db; config: PasskeyConfig; decoyKey: string; now?: () => number };

export { clock } from "../clock";

/** Challenges (registration and login) live this long. */
export const CHALLENGE_TTL_SECONDS = 5 * 60;

/** ES256, EdDSA and RS256, in the order the relying party prefers them. */
export const SUPPORTED_ALGORITHMS = [-7, -8, -257] as const; // ES256, EdDSA, RS256 (public-key.ts)
