import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { authRoutes } from "./auth/routes";
import { dbProvider } from "./db/client";
import { type AppEnv, loadConfig } from "./env";
import { healthRoutes } from "./health/routes";
import { jsonBody, requestId, requestLog, requireConfig } from "./http/middleware";
import { notFoundHandler, onError } from "./http/on-error";

export const app = new Hono<AppEnv>();

app.use(requestId);
app.use(requestLog);
app.use(
  secureHeaders({
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-site",
    // HTML pages set their own strict CSP; JSON responses need none beyond this.
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  }),
);
app.use(
  cors({
    origin: (origin, c) => {
      const result = loadConfig(c.env);
      return result.ok && result.config.CORS_ORIGINS.includes(origin) ? origin : null;
    },
    allowHeaders: ["Authorization", "Content-Type", "X-Request-Id"],
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
    maxAge: 600,
  }),
);
app.use(requireConfig, dbProvider, jsonBody);

const routes = app.route("/", healthRoutes).route("/", authRoutes);

app.notFound(notFoundHandler);
app.onError(onError);

/** For `hc<AppType>()` typed clients. */
export type AppType = typeof routes;
