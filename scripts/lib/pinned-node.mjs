// The project's tools need a newer Node than many machines have (wrangler wants 22.12+, the
// scripts load the Worker's TypeScript with Node 24's type stripping). npm installs Node 24 as
// the devDependency "node", and `npm run` puts it first on PATH. A script started directly by
// another Node (`node scripts/dev.mjs` on Node 20) re-runs itself on that pinned Node here, so
// it works the same way. Import this module first: it exits before the script's other imports run.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MIN_MAJOR = 24;

if (Number(process.versions.node.split(".")[0]) < MIN_MAJOR) {
  const binary = process.platform === "win32" ? "node_modules/node/bin/node.exe" : "node_modules/node/bin/node";
  const pinned = fileURLToPath(new URL(`../../${binary}`, import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `This script needs Node ${MIN_MAJOR}, which \`npm install\` puts into node_modules. Run \`npm install\` first.`,
    );
    process.exit(1);
  }
  const flags = ["--experimental-transform-types", "--disable-warning=ExperimentalWarning"];
  // Ctrl-C reaches the child too (same process group): let it finish before this process exits.
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {});
  const result = spawnSync(pinned, [...flags, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
