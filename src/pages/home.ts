import { createRoute } from "@hono/zod-openapi";
import { failures, html } from "../openapi/responses";
import { createRouter } from "../openapi/router";
import { htmlPage } from "./layout";

const homeRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Operations"],
  summary: "Index page",
  responses: {
    200: html("A small page naming the API (APP_NAME) with links to /docs, /openapi.json and /health."),
    ...failures(),
  },
});

/** GET /: where a browser lands first (wrangler's "open a browser"); it names the API and points on. */
export const homeRoutes = createRouter().openapi(homeRoute, (c) =>
  htmlPage(c, {
    title: `${c.var.config.APP_NAME} API`,
    main: `<p class="muted">Accounts, login, roles, posts and comments over JSON. Every endpoint, with a form to try it,
is in the reference.</p>
<nav class="links" aria-label="API resources">
<a href="/docs"><strong>API reference</strong><span>Every operation, its fields and answers; send requests from the page.</span></a>
<a href="/openapi.json"><strong>OpenAPI document</strong><span>OpenAPI 3.1 JSON for client generators.</span></a>
<a href="/health"><strong>Health</strong><span>Answers 200 after a real database round trip.</span></a>
</nav>`,
  }),
);
