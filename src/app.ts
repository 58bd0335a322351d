import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { auditRoutes } from "./audit/routes";
import { emailCodeRoutes } from "./auth/email-code/routes";
import { emailRoutes } from "./auth/email-routes";
import { mfaRoutes } from "./auth/mfa/routes";
import { oauthRoutes } from "./auth/oauth/routes";
import { passkeyRoutes } from "./auth/passkeys/routes";
import { authRoutes } from "./auth/routes";
import { commentsRoutes } from "./comments/routes";
import { dbProvider } from "./db/client";
import { emailChangeRoutes } from "./email-change/routes";
import type { AppEnv } from "./env";
import { healthRoutes } from "./health/routes";
import { forConfiguredOrigins } from "./http/cors";
import { jsonBody, requestId, requestLog, requireConfig } from "./http/middleware";
import { notFoundHandler, onError } from "./http/on-error";
import { limitPublicEndpointsByIp } from "./http/rate-limit";
import { openApiRoutes } from "./openapi/routes";
import { homeRoutes } from "./pages/home";
import { postsRoutes } from "./posts/routes";
import { meRoutes } from "./users/me-routes";
import { userRoutes } from "./users/routes";

/** An `OpenAPIHono`, so the routers mounted below bring their route declarations into /openapi.json. */
export const app = new OpenAPIHono<AppEnv>();

app.use(requestId);
app.use(requestLog);
app.use(
  secureHeaders({
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-site",
    // HTML pages set their own strict CSP; JSON responses need none beyond this.
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    // Keep a header a handler set itself (the HTML token pages' nonce CSP).
    overwrite: false,
  }),
);
app.use(
  forConfiguredOrigins(
    cors({
      origin: (origin) => origin,
      allowHeaders: ["Authorization", "Content-Type", "X-Request-Id", "X-D1-Bookmark"],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: ["X-Request-Id", "Retry-After", "X-D1-Bookmark", "Server-Timing"],
      maxAge: 600,
    }),
  ),
);
app.use(requireConfig, dbProvider, limitPublicEndpointsByIp, jsonBody);

const routes = app
  .route("/", homeRoutes)
  .route("/", healthRoutes)
  .route("/", authRoutes)
  .route("/", emailRoutes)
  .route("/", emailCodeRoutes)
  .route("/", mfaRoutes)
  .route("/", oauthRoutes)
  .route("/", passkeyRoutes)
  .route("/", postsRoutes)
  .route("/", commentsRoutes)
  .route("/", userRoutes)
  .route("/", meRoutes)
  .route("/", emailChangeRoutes)
  .route("/", auditRoutes)
  .route("/", openApiRoutes);

app.notFound(notFoundHandler);
app.onError(onError);

/** For `hc<AppType>()` typed clients. */
export type AppType = typeof routes;
