// The static assets wrangler serves next to the Worker ([assets] in wrangler.toml): Scalar's
// standalone API reference bundle for /docs, in public/docs/scalar.js (git-ignored), so /docs
// works offline and the 5 MB bundle never counts toward the Worker's size budget. Also
// public/openapi.json: docs/openapi.json (the committed document, `npm run openapi`), minified,
// which the Worker's GET /openapi.json reads through the ASSETS binding (src/openapi/routes.ts).
//
// Only that one file is needed, so it comes from the package's tarball (`npm pack`, checked
// against the pinned integrity) instead of a devDependency: @scalar/api-reference would pull in
// ~200 packages (Vue, an AI SDK), each warning about engines on Node 20.
// Runs after `npm install` (postinstall), and again from `npm run dev`, the tests and deploy;
// it does nothing when the pinned version is already in place.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCALAR = {
  name: "@scalar/api-reference",
  version: "1.76.0",
  integrity: "sha512-pjqwnzmA9YK3ZX+IZSICMsywm4qI6HLSngR2py9H6TvFApHHuJjkTAd+gFJfnqJDzJuro8k7ji6JCtJ2U+Byng==",
};
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCS = join(ROOT, "public/docs");

/**
 * Brings public/ up to date. Without network on a first run it warns and leaves /docs without
 * its bundle (the API itself is unaffected); with `strict` (deploy) it fails instead.
 */
export function copyDocsAssets({ strict = false } = {}) {
  mkdirSync(DOCS, { recursive: true });
  // Static assets bypass the Worker's middleware; give them the headers that matter for a script.
  writeFileSync(
    join(ROOT, "public/_headers"),
    "/docs/*\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: no-referrer\n",
  );
  // Every time: the committed document may have changed since the last run.
  const document = JSON.parse(readFileSync(join(ROOT, "docs/openapi.json"), "utf8"));
  writeFileSync(join(ROOT, "public/openapi.json"), JSON.stringify(document));
  const stamp = join(DOCS, ".version");
  if (existsSync(join(DOCS, "scalar.js")) && existsSync(stamp) && readFileSync(stamp, "utf8") === SCALAR.version)
    return;
  const dir = mkdtempSync(join(tmpdir(), "scalar-"));
  try {
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ["npm"];
    const spec = `${SCALAR.name}@${SCALAR.version}`;
    const pack = spawnSync(npm[0], [...npm.slice(1), "pack", spec, "--pack-destination", dir, "--json", "--silent"], {
      encoding: "utf8",
      shell: process.platform === "win32" && npm.length === 1,
    });
    if (pack.status !== 0) throw new Error(`npm pack ${spec} failed: ${pack.stderr.trim().split("\n").pop()}`);
    const tarball = join(dir, JSON.parse(pack.stdout)[0].filename);
    const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (integrity !== SCALAR.integrity) throw new Error(`${spec}: the tarball does not match the pinned integrity`);
    const bundle = "package/dist/browser/standalone.js";
    const untar = spawnSync("tar", ["-xzf", tarball, "-C", dir, bundle], { encoding: "utf8" });
    if (untar.status !== 0) throw new Error(`unpacking ${spec} failed: ${untar.stderr.trim()}`);
    copyFileSync(join(dir, bundle), join(DOCS, "scalar.js"));
    writeFileSync(stamp, SCALAR.version);
  } catch (err) {
    if (strict) throw err;
    console.warn(`warning: /docs will lack Scalar's bundle until this succeeds (npm run postinstall): ${err.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets({ strict: process.argv.includes("--strict") });
