import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { clientIp } from "../../http/client";
import { AppError } from "../../http/errors";
import { ACCOUNT_SLOWDOWN_AFTER, type Attempt } from "./failures";
import { verifyTurnstile } from "./turnstile";

/** The first delay past the threshold; each further failure doubles it, up to the cap. */
export const SLOWDOWN_BASE_MS = 500;
export const SLOWDOWN_MAX_MS = 8000;

/** How long an attempt waits before its password is compared, given the email's earlier failures. */
export const slowdownMs = (earlierAccountFailures: number) =>
  earlierAccountFailures < ACCOUNT_SLOWDOWN_AFTER
    ? 0
    : Math.min(SLOWDOWN_MAX_MS, SLOWDOWN_BASE_MS * 2 ** (earlierAccountFailures - ACCOUNT_SLOWDOWN_AFTER));

export const challengeRequired = () =>
  new AppError(401, "CHALLENGE_REQUIRED", "Complete the challenge and send its turnstileToken");

/**
 * What an attempt on an email with many recent failures (from any networks)
 * must get through before its password is compared. It never refuses the
 * right password for good, since anyone can run up an email's failures: the
 * owner passes a Turnstile challenge when `TURNSTILE_SECRET` is set (and
 * `challenge` is allowed: login), and otherwise waits a delay that doubles
 * with each failure up to `SLOWDOWN_MAX_MS`. Returns the delay waited.
 */
export async function passChallenge(
  c: Context<AppEnv>,
  attempt: Pick<Attempt, "earlierAccountFailures">,
  challenge: { allowed: boolean; token?: string },
): Promise<number> {
  if (attempt.earlierAccountFailures < ACCOUNT_SLOWDOWN_AFTER) return 0;
  const { config } = c.var;
  if (challenge.allowed && config.TURNSTILE_SECRET) {
    const passed =
      challenge.token !== undefined &&
      (await verifyTurnstile(config, config.TURNSTILE_SECRET, challenge.token, clientIp(c)));
    if (!passed) throw challengeRequired();
    return 0;
  }
  const delay = slowdownMs(attempt.earlierAccountFailures);
  await new Promise((resolve) => setTimeout(resolve, delay));
  return delay;
}
