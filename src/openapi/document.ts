import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { Failure } from "./responses";

/** Hono's `/user/:id` (optionally `:id{regex}`) as OpenAPI's `/user/{id}`. */
export const toOpenApiPath = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

const tags = [
  { name: "Authentication", description: "Accounts, tokens, email verification and password reset." },
  { name: "Signed-in user", description: "The caller's own account, password and sessions." },
  { name: "User management", description: "Moderators list and read users; admins change and delete them." },
  { name: "Posts and comments", description: "Anyone signed in reads and writes; owners, moderators and admins edit." },
  { name: "Emailed link pages", description: "HTML pages that emailed links open." },
  { name: "Operations", description: "Health and this documentation." },
];

const registered = new WeakSet<object>();

/** What the route declarations refer to but do not declare themselves (once per registry). */
function registerComponents(registry: OpenAPIHono<AppEnv>["openAPIRegistry"]) {
  if (registered.has(registry)) return;
  registered.add(registry);
  registry.register("Failure", Failure);
  registry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The `accessToken` from /login or /refresh.",
  });
  registry.registerComponent("headers", "RequestId", {
    description: "Echo of a safe client `X-Request-Id`, otherwise a fresh id; quote it when reporting a problem.",
    schema: { type: "string" },
  });
  registry.registerComponent("headers", "RetryAfter", {
    description: "Seconds to wait before trying again.",
    schema: { type: "integer" },
  });
  registry.registerComponent("headers", "WwwAuthenticate", {
    description: '`Bearer realm="api"`',
    schema: { type: "string" },
  });
}

/**
 * The OpenAPI 3.1 document of every route declared on `app` (and the routers
 * mounted on it with `app.route()`), generated from their `createRoute` declarations.
 */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>) {
  registerComponents(app.openAPIRegistry);
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Edge User Management API",
      version: "0.1.0",
      description:
        "Accounts, JWT access tokens with rotating refresh tokens, roles, posts and comments. Every answer uses one JSON envelope: `status: success` with `data`, or `status: failed` with `error.code` (see `ErrorCode`).",
    },
    servers: [{ url: "/" }],
    tags,
  });
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, op] of Object.entries(item) as [string, { operationId?: string; security?: unknown[] }][]) {
      op.operationId ??= operationId(method, path);
      // An empty list says "no authentication" outright, rather than leaving it unsaid.
      op.security ??= [];
    }
  }
  return document;
}

/** `getPostsById` for GET /posts/{id}: derived, so no route has to name it. */
const operationId = (method: string, path: string) =>
  method +
  path
    .split(/[/.-]/)
    .filter(Boolean)
    .map((part) => (part.startsWith("{") ? `By${part.slice(1, 2).toUpperCase()}${part.slice(2, -1)}` : part))
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
