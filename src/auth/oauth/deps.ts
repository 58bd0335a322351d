import type { Db } from "../../db/client";

/**
 * What the OAuth services need, passed explicitly (not Hono's Context) so
 * tests call them directly and routes stay thin.
 *
 * - `callbackUrl(providerId)`: this API's own callback for a provider (built
 *   from `APP_URL`'s API origin by the routes, never from the request's Host).
 * - `jwksCooldownMs`: the least time between two JWKS fetches for one
 *   provider, so a stream of tokens with unknown `kid`s cannot make us hammer
 *   the provider (tests set 0).
 * - `now`: for tests that need another clock; defaults to `Date.now`.
 */
export type OAuthDeps = {
  db: Db;
  callbackUrl: (providerId: string) => string;
  jwksCooldownMs?: number;
  now?: () => number;
};

export { clock } from "../clock";
