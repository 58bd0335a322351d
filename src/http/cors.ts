import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { loadConfig } from "../env";

/**
 * Runs the CORS middleware only for an origin listed in `CORS_ORIGINS`.
 * hono/cors on its own still adds `Access-Control-Expose-Headers` to every
 * response and answers any preflight with the allowed methods and headers;
 * the contract promises other origins no CORS headers at all, so their
 * requests (and requests without an Origin) skip it entirely.
 */
export const forConfiguredOrigins =
  (corsMiddleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const origin = c.req.header("Origin");
    const result = loadConfig(c.env);
    if (origin && result.ok && result.config.CORS_ORIGINS.includes(origin)) return corsMiddleware(c, next);
    await next();
  };
