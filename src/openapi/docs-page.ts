/**
 * GET /docs: Scalar's API reference (search, schemas, examples, code snippets,
 * a client to send requests) over /openapi.json. Its standalone bundle is a
 * static asset of this Worker (/docs/scalar.js, see wrangler.toml [assets]),
 * so the page needs no CDN and works offline, and the Worker's own bundle
 * stays small.
 *
 * CSP: scripts, styles, fonts, images and requests from this origin only; the
 * one inline script (the configuration) carries this response's nonce. Scalar
 * styles its components with inline style attributes and injected <style>
 * elements, so styles also allow 'unsafe-inline' (styles cannot run code; a
 * style nonce was tried: Scalar honours it for its <style>, but its style
 * attributes are then refused).
 * Everything in the configuration that would reach a Scalar service (fonts,
 * telemetry, the request proxy, the AI agent, MCP) is switched off.
 */
export function docsPage(nonce: string, title: string) {
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const configuration = {
    url: "/openapi.json",
    withDefaultFonts: false,
    telemetry: false,
    proxyUrl: "",
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: "never",
    documentDownloadType: "json",
    persistAuth: false,
    defaultHttpClient: { targetKey: "shell", clientKey: "curl" },
    // The full client is a hosted app; the in-page one (Test Request) is enough and stays offline.
    hideClientButton: true,
  };
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><link rel="icon" href="data:,"></head>
<body><div id="app"></div>
<noscript>The API reference needs JavaScript. The document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script src="/docs/scalar.js"></script>
<script nonce="${nonce}">Scalar.createApiReference("#app", ${JSON.stringify(configuration)});</script>
</body></html>`;
  return { html, csp };
}
