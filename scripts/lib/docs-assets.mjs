// The static assets wrangler serves next to the Worker ([assets] in wrangler.toml): Scalar's
// standalone API reference bundle for /docs, copied from node_modules into public/ (git-ignored),
// so /docs works offline and the 5 MB bundle never counts toward the Worker's size budget.
// Runs after `npm install` (postinstall), and again from `npm run dev`, the tests and deploy.
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Brings public/ up to date; cheap when it already is. */
export function copyDocsAssets() {
  // The package exports no path to its browser bundle; npm installs it at the top of node_modules.
  const source = join(ROOT, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
  const target = join(ROOT, "public/docs/scalar.js");
  mkdirSync(dirname(target), { recursive: true });
  if (!existsSync(target) || statSync(target).size !== statSync(source).size) copyFileSync(source, target);
  // Static assets bypass the Worker's middleware; give them the headers that matter for a script.
  writeFileSync(
    join(ROOT, "public/_headers"),
    "/docs/*\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: no-referrer\n",
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();
