import { escapeHtml, newNonce } from "../pages/layout";
import { docsPage } from "./docs-page";
import { createRouter } from "./router";
import { docsRoute, openApiJsonRoute } from "./routes.defs";

/**
 * /openapi.json describes the whole app: `buildOpenApiDocument(app)`, run at build time by
 * `npm run openapi` (scripts/openapi-document.mjs) into docs/openapi.json, which is committed and
 * copied to the static assets. The Worker neither bundles the generator nor the document: it reads
 * it through the ASSETS binding (wrangler.toml sends /openapi.json to the Worker first, so the
 * middleware still applies) on first use and keeps it for the isolate's life.
 * test/openapi-document.test.ts fails when the committed document differs from the declarations.
 */
let document: Record<string, unknown> | undefined;

export const openApiRoutes = createRouter()
  .openapi(openApiJsonRoute, async (c) => {
    if (!document) {
      const asset = await c.env.ASSETS.fetch(new URL("/openapi.json", c.req.url));
      if (!asset.ok) throw new Error(`openapi.json asset: ${asset.status} (run npm install or npm run postinstall)`);
      document = await asset.json<Record<string, unknown>>();
    }
    c.header("Cache-Control", "public, max-age=300");
    return c.json(document, 200);
  })
  .openapi(docsRoute, (c) => {
    const { html, csp } = docsPage(newNonce(), `API reference · ${escapeHtml(c.var.config.APP_NAME)}`);
    c.header("Content-Security-Policy", csp);
    c.header("Cache-Control", "no-store");
    return c.html(html);
  });
