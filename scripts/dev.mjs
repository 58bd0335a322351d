// `npm run dev`: makes a fresh clone runnable with no manual step.
// 1. writes .dev.vars with a random JWT_SECRET when it is missing,
// 2. applies migrations to the embedded local D1 (.wrangler/state),
// 3. starts `wrangler dev` (extra arguments are passed through).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  writeFileSync(
    ".dev.vars",
    [
      "# Local secrets for `wrangler dev`. Git-ignored; see .dev.vars.example for every variable.",
      `JWT_SECRET=${randomBytes(32).toString("hex")}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  console.log("Created .dev.vars with a random JWT_SECRET.");
}

const run = (args) => {
  const result = spawnSync("wrangler", args, { stdio: "inherit", shell: process.platform === "win32" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// Migrate the same local state that `wrangler dev` will use.
const args = process.argv.slice(2);
const persistAt = args.indexOf("--persist-to");
const persist = persistAt >= 0 ? args.slice(persistAt, persistAt + 2) : [];
run(["d1", "migrations", "apply", "DB", "--local", ...persist]);
run(["dev", ...args]);
