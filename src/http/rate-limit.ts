import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { clientNetwork } from "./client";
import { tooManyRequests } from "./errors";

/** Rate-limit windows are 60 s (see wrangler.toml), so that is the longest a caller must wait. */
const WINDOW_SECONDS = 60;

/**
 * The endpoints anyone may call, by path, with the name their handler gives
 * `enforceRateLimit`. Their per-IP limit is counted before the body is read.
 */
const PUBLIC_ENDPOINTS: Record<string, string> = {
  "/register": "register",
  "/login": "login",
  "/login/mfa": "login-mfa",
  "/login/email-code": "email-code",
  "/login/email-code/verify": "email-code-verify",
  "/refresh": "refresh",
  "/forgot-password": "forgot",
  "/reset-password": "reset",
  "/verify-email": "verify",
  "/oauth/token": "oauth-token",
  "/oauth/:provider/id-token": "oauth-id-token",
  "/passkeys/login/options": "passkey-options",
  "/passkeys/login": "passkey-login",
};

/** The key of `PUBLIC_ENDPOINTS` a path falls under (paths with a provider id are one endpoint). */
const endpointPath = (path: string) => path.replace(/^\/oauth\/[^/]+\/id-token$/, "/oauth/:provider/id-token");

const ipCheck = (c: Context<AppEnv>, endpoint: string) =>
  c.env.RATE_LIMIT_IP.limit({ key: `${endpoint}:ip:${clientNetwork(c)}` });

/**
 * Counts a POST to a public endpoint against the caller's IP before the body
 * is read or validated, so a flood of malformed bodies (each answering a 400)
 * is throttled like any other. It moves that endpoint's IP check here rather
 * than adding one: `enforceRateLimit` then counts only the email or account.
 * Other requests pay nothing; bearer routes run the auth guard before any
 * validator, so an anonymous body there is refused before it is looked at.
 */
export const limitPublicEndpointsByIp: MiddlewareHandler<AppEnv> = async (c, next) => {
  const endpoint = c.req.method === "POST" ? PUBLIC_ENDPOINTS[endpointPath(c.req.path)] : undefined;
  if (endpoint) {
    if (!(await ipCheck(c, endpoint)).success) throw tooManyRequests(WINDOW_SECONDS);
    c.set("ipLimited", endpoint);
  }
  await next();
};

/**
 * Counts the request against the caller's IP (`RATE_LIMIT_IP`) and, where
 * the request is about one email address or account, against that too
 * (`RATE_LIMIT_EMAIL`), both at once; refuses with 429 when either is over.
 * Keys are namespaced by endpoint (`login:ip:…`, `login:email:…`) so one
 * endpoint's traffic does not use up another's. An IP already counted by
 * `limitPublicEndpointsByIp` for this endpoint is not counted again. "IP" means the client's
 * network (an IPv6 /64, see `clientNetwork`). A `network` on the email
 * subject counts that email per network, so strangers hammering an address
 * cannot use up its owner's budget (login).
 */
export async function enforceRateLimit(
  c: Context<AppEnv>,
  endpoint: string,
  subject?: { email: string; network?: string } | { userId: string },
) {
  const checks = c.get("ipLimited") === endpoint ? [] : [ipCheck(c, endpoint)];
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
