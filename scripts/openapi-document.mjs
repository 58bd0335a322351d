// `npm run openapi`: writes docs/openapi.json, the OpenAPI document the Worker serves at
// /openapi.json, generated from the routes' `createRoute` declarations (they stay the single
// source). The generator (@asteasolutions/zod-to-openapi, through @hono/zod-openapi) runs here, in
// Node, never in the Worker: wrangler.toml's [alias] swaps it for build/zod-to-openapi-runtime.js.
// The Worker reads the document from its static assets (scripts/lib/docs-assets.mjs copies it to
// public/openapi.json), so neither the generator (8.6 KiB gzipped) nor the document (13 KiB)
// is in the bundle. test/openapi-document.test.ts fails when the committed file differs from what
// the routes declare; `npm run dev` and `npm run deploy` run this first, so they serve it current.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DOCUMENT_PATH = join(ROOT, "docs/openapi.json");

/** The document as the declarations build it, serialized as the committed file is. */
export async function generateOpenApiDocument() {
  const dir = mkdtempSync(join(tmpdir(), "openapi-document-"));
  try {
    const outfile = join(dir, "document.mjs");
    // Bundled without wrangler's [alias]: the real generator and the real zod.
    await build({
      stdin: {
        contents: [
          'import { app } from "./src/app";',
          'import { buildOpenApiDocument } from "./src/openapi/document";',
          "export default buildOpenApiDocument(app);",
        ].join("\n"),
        resolveDir: ROOT,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      outfile,
      logLevel: "error",
    });
    const { default: document } = await import(pathToFileURL(outfile).href);
    return `${JSON.stringify(document, null, 2)}\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes docs/openapi.json when it differs from what the declarations build; says which. */
export async function writeOpenApiDocument() {
  const text = await generateOpenApiDocument();
  const before = existsSync(DOCUMENT_PATH) ? readFileSync(DOCUMENT_PATH, "utf8") : "";
  if (text !== before) writeFileSync(DOCUMENT_PATH, text);
  console.log(`docs/openapi.json: ${text === before ? "up to date" : "written"}`);
}

if (import.meta.main) await writeOpenApiDocument();
