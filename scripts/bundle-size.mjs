// `npm run size`: builds the Worker exactly as `wrangler deploy` would (dry run)
// and fails when the gzipped bundle exceeds the budget.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const BUDGET_KIB = 250;

/** Bundles a Worker with wrangler's own bundler; returns the path of the built script. */
export function buildWorker({ outdir, entry, name }) {
  const args = ["deploy", "--dry-run", "--outdir", outdir];
  if (entry) args.push("--name", name, entry);
  const result = spawnSync("wrangler", args, { encoding: "utf8", shell: process.platform === "win32" });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error(`wrangler ${args.join(" ")} failed`);
  }
  const script = entry
    ? `${entry
        .split("/")
        .pop()
        .replace(/\.[cm]?[jt]s$/, "")}.js`
    : "index.js";
  return join(outdir, script);
}

/** Size of the bundle as uploaded (gzip), in KiB. */
export const gzippedKiB = (file) => gzipSync(readFileSync(file)).byteLength / 1024;

if (import.meta.main) {
  const script = buildWorker({ outdir: "dist" });
  const raw = readFileSync(script).byteLength / 1024;
  const gzipped = gzippedKiB(script);
  console.log(`Worker bundle: ${raw.toFixed(1)} KiB, ${gzipped.toFixed(1)} KiB gzipped (budget ${BUDGET_KIB} KiB)`);
  if (gzipped > BUDGET_KIB) {
    console.error(`Bundle is over budget by ${(gzipped - BUDGET_KIB).toFixed(1)} KiB`);
    process.exit(1);
  }
}
