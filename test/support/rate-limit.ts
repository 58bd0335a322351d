import { expect } from "vitest";
import type { ApiResponse } from "./api";
import { expectFailure } from "./expect-failure";

/**
 * Sends requests one after another until one is rate-limited, and asserts
 * that at least `limit` got through first and the refusal is a proper 429.
 * The binding's windows are aligned to the clock, so one may roll over
 * mid-test and reset the count: hence up to `2 * limit + 1` tries.
 */
export async function expectRateLimitedAfter(limit: number, send: (attempt: number) => Promise<ApiResponse>) {
  for (let attempt = 0; attempt <= 2 * limit; attempt++) {
    const res = await send(attempt);
    if (res.status !== 429) continue;
    expect(attempt).toBeGreaterThanOrEqual(limit);
    expectFailure(res, 429, "TOO_MANY_REQUESTS");
    const retryAfter = Number(res.headers.get("Retry-After"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    return;
  }
  expect.fail(`no 429 after ${2 * limit + 1} requests`);
}

const unlimited: RateLimit = { limit: async () => ({ success: true }) };

/**
 * Bindings (for `settled(…, { bindings })`) that let every request through the
 * Workers rate limiters, so a test can show what holds beyond them (the hourly
 * mail caps, the stored-content caps) with more requests than they allow.
 */
export const LIFTED_RATE_LIMITS = {
  RATE_LIMIT_IP: unlimited,
  RATE_LIMIT_EMAIL: unlimited,
  RATE_LIMIT_CONTENT: unlimited,
};
