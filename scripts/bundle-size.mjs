// `npm run size`: builds the Worker exactly as `wrangler deploy` would (dry run)
// and fails when the gzipped bundle exceeds the budget, or when it carries a
// zod locale other than English. What keeps them out is wrangler.toml's [alias]
// of "zod" to build/zod-without-locales.js (zod's entry without its locales);
// a locale coming back means something imports zod around that alias.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

// 138.4 KiB on main after the lean, signin, stepup and n1 branches (135.5 on lean alone) plus ~4 KiB
// of room (README, "Bundle and startup"). The CI cap never goes above 150 KiB.
export const BUDGET_KIB = 142;

/** Bundles a Worker with wrangler's own bundler; returns the path of the built script. */
export function buildWorker({ outdir, entry, name }) {
  const args = ["deploy", "--dry-run", "--outdir", outdir, "--metafile", join(outdir, "meta.json")];
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

/** Bundled zod locales other than the English default, from the build's metafile. */
export function extraZodLocales(outdir) {
  const meta = JSON.parse(readFileSync(join(outdir, "meta.json"), "utf8"));
  // `inputs` lists every module parsed; an output's inputs with bytes are what was kept.
  const kept = Object.values(meta.outputs).flatMap((o) =>
    Object.entries(o.inputs ?? {}).filter(([, v]) => v.bytesInOutput > 0),
  );
  return kept.map(([f]) => f).filter((f) => /zod\/v4\/locales\/(?!en\.js$)/.test(f));
}

/** Size of the bundle as uploaded (gzip), in KiB. */
export const gzippedKiB = (file) => gzipSync(readFileSync(file)).byteLength / 1024;

if (import.meta.main) {
  const script = buildWorker({ outdir: "dist" });
  const raw = readFileSync(script).byteLength / 1024;
  const gzipped = gzippedKiB(script);
  console.log(`Worker bundle: ${raw.toFixed(1)} KiB, ${gzipped.toFixed(1)} KiB gzipped (budget ${BUDGET_KIB} KiB)`);
  const locales = extraZodLocales("dist");
  if (locales.length > 0) {
    console.error(
      `${locales.length} zod locales are bundled (e.g. ${locales[0]}): check the "zod" [alias] in wrangler.toml (build/zod-without-locales.js)`,
    );
    process.exit(1);
  }
  if (gzipped > BUDGET_KIB) {
    console.error(`Bundle is over budget by ${(gzipped - BUDGET_KIB).toFixed(1)} KiB`);
    process.exit(1);
  }
}
