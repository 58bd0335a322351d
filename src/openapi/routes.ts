import { Hono } from "hono";
import type { AppEnv } from "../env";
import { escapeHtml, newNonce } from "../pages/layout";
import { docsPage } from "./docs-page";
import { buildOpenApiDocument } from "./document";
import { operations, tags } from "./operations";

let document: ReturnType<typeof buildOpenApiDocument> | undefined;

/** Built on first use and kept for the isolate's life: it depends only on the code. */
export const openApiDocument = () => {
  document ??= buildOpenApiDocument(operations, tags);
  return document;
};

export const openApiRoutes = new Hono<AppEnv>()
  .get("/openapi.json", (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(openApiDocument() as Record<string, unknown>);
  })
  .get("/docs", (c) => {
    const { html, csp } = docsPage(newNonce(), `API reference · ${escapeHtml(c.var.config.APP_NAME)}`);
    c.header("Content-Security-Policy", csp);
    c.header("Cache-Control", "no-store");
    return c.html(html);
  });
