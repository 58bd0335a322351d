import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { escapeHtml, newNonce } from "../pages/layout";
import { docsPage } from "./docs-page";
import { buildOpenApiDocument } from "./document";
import { createRouter } from "./router";
import { docsRoute, openApiJsonRoute } from "./routes.defs";

/**
 * /openapi.json describes `root`, the whole app. Built on first use and kept
 * for the isolate's life: it depends only on the code.
 */
export const openApiRoutes = (root: OpenAPIHono<AppEnv>) => {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  return createRouter()
    .openapi(openApiJsonRoute, (c) => {
      document ??= buildOpenApiDocument(root);
      c.header("Cache-Control", "public, max-age=300");
      return c.json(document as unknown as Record<string, unknown>, 200);
    })
    .openapi(docsRoute, (c) => {
      const { html, csp } = docsPage(newNonce(), `API reference · ${escapeHtml(c.var.config.APP_NAME)}`);
      c.header("Content-Security-Policy", csp);
      c.header("Cache-Control", "no-store");
      return c.html(html);
    });
};
