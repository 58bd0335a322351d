import type { Context } from "hono";
import type { AppEnv } from "../env";
import { clientNetwork } from "./client";
import { tooManyRequests } from "./errors";

/** Rate-limit windows are 60 s (see wrangler.toml), so that is the longest a caller must wait. */
const WINDOW_SECONDS = 60;

/**
 * Counts the request against the caller's IP (`RATE_LIMIT_IP`) and, where
 * the request is about one email address or account, against that too
 * (`RATE_LIMIT_EMAIL`), both at once; refuses with 429 when either is over.
 * Keys are namespaced by endpoint (`login:ip:…`, `login:email:…`) so one
 * endpoint's traffic does not use up another's. "IP" means the client's
 * network (an IPv6 /64, see `clientNetwork`). A `network` on the email
 * subject counts that email per network, so strangers hammering an address
 * cannot use up its owner's budget (login).
 */
export async function enforceRateLimit(
  c: Context<AppEnv>,
  endpoint: string,
  subject?: { email: string; network?: string } | { userId: string },
) {
  const checks = [c.env.RATE_LIMIT_IP.limit({ key: `${endpoint}:ip:${clientNetwork(c)}` })];
  if (subject) {
    const key =
      "email" in subject
        ? `email:${subject.email}${subject.network ? `:net:${subject.network}` : ""}`
        : `user:${subject.userId}`;
    checks.push(c.env.RATE_LIMIT_EMAIL.limit({ key: `${endpoint}:${key}` }));
  }
  const results = await Promise.all(checks);
  if (results.some((r) => !r.success)) throw tooManyRequests(WINDOW_SECONDS);
}
