import { createRoute, z } from "@hono/zod-openapi";
import { lazySchema } from "./lazy-schema";
import { failures, html } from "./responses";

const tags = ["Operations"];

export const openApiJsonRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags,
  summary: "This OpenAPI 3.1 document",
  responses: {
    200: {
      description: "The document itself, not wrapped in the envelope.",
      content: { "application/json": { schema: lazySchema(() => z.record(z.string(), z.unknown())) } },
    },
    ...failures(),
  },
});

export const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  tags,
  summary: "Interactive API documentation",
  responses: {
    200: html("A page listing every operation, where a request can be sent with a bearer token."),
    ...failures(),
  },
});
