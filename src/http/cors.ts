import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { loadConfig } from "../env";

/**
 * Runs the CORS middleware only for an origin listed in `CORS_ORIGINS`.
 * hono/cors on its own still adds `Access-Control-Expose-Headers` to every
 * response and answers any preflight with the allowed methods and headers;
 * the contract promises other origins no CORS headers at all, so their
 * requests (and requests without an Origin) skip it entirely.
 *
 * Once any origin is configured, every response depends on `Origin` (one
 * origin gets CORS headers, another or none does not), so every response says
 * `Vary: Origin`, or a shared cache could hand one origin's answer to another
 * (`/openapi.json` is publicly cacheable). hono/cors adds it for the
 * configured origins; the rest get it here.
 */
export const forConfiguredOrigins =
  (corsMiddleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const origin = c.req.header("Origin");
    const result = loadConfig(c.env);
    const allowed = result.ok ? result.config.CORS_ORIGINS : [];
    if (origin && allowed.includes(origin)) return corsMiddleware(c, next);
    await next();
    if (allowed.length > 0) c.header("Vary", "Origin", { append: true });
  };
