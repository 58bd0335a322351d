import type { Db } from "../../db/client";
import type { EncryptionConfig } from "./keys";

/**
 * What the MFA services need, passed explicitly (not Hono's Context) so tests
 * call them directly and routes stay thin. `now` is for tests that must sit
 * at a given point of a 30-second step; it defaults to the clock.
 */
export type MfaDeps = { db: Db; config: EncryptionConfig; now?: () => number };

export { clock } from "../clock";
