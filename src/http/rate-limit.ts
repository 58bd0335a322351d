import { tooManyRequests } from "./errors";

/** Rate-limit windows are 60 s (see wrangler.toml), so that is the longest a caller must wait. */
const WINDOW_SECONDS = 60;

/**
 * Counts one request against each key on the Workers Rate Limiting binding
 * and refuses with 429 when any is over its limit. Keys are namespaced
 * (`login:ip:…`) so one endpoint's traffic does not use up another's.
 */
export async function enforceRateLimit(limiter: RateLimit, ...keys: string[]) {
  const results = await Promise.all(keys.map((key) => limiter.limit({ key })));
  if (results.some((r) => !r.success)) throw tooManyRequests(WINDOW_SECONDS);
}
