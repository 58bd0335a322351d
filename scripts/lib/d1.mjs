// Runs SQL against the project's D1 database through wrangler, locally (the
// database `wrangler dev` uses) or remotely (the deployed one).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A SQL string literal. Every value goes through this: a quote in an email or
 * a name doubles instead of ending the literal.
 */
export function sqlString(value) {
  if (value === null || value === undefined) return "null";
  const text = String(value);
  if (text.includes("\0")) throw new Error("A value contains a NUL character");
  return `'${text.replaceAll("'", "''")}'`;
}

// wrangler's own entry point, run by this same Node: no shell ever parses an argument.
const wranglerPackage = createRequire(import.meta.url).resolve("wrangler/package.json");
const wranglerBin = join(dirname(wranglerPackage), JSON.parse(readFileSync(wranglerPackage, "utf8")).bin.wrangler);

function wrangler(args) {
  const result = spawnSync(process.execPath, [wranglerBin, ...args], {
    // No stdin: wrangler takes the non-interactive default instead of prompting.
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return result;
}

/** `{ remote, persistTo }` as wrangler flags. */
const where = ({ remote = false, persistTo } = {}) =>
  remote ? ["--remote"] : ["--local", ...(persistTo ? ["--persist-to", persistTo] : [])];

/** Brings the local database up to date, so the scripts work on a fresh clone. */
export function applyLocalMigrations(target = {}) {
  const result = wrangler(["d1", "migrations", "apply", "DB", ...where(target)]);
  if (result.status !== 0) throw new Error(`Applying migrations failed:\n${result.stdout}${result.stderr}`);
}

/**
 * Executes SQL and returns the rows of each statement. Locally the SQL goes in
 * a file, which D1 runs as one transaction; remotely as one command (D1's
 * query API, which returns the rows of a RETURNING clause).
 */
export function executeSql(sql, target = {}) {
  const dir = target.remote ? undefined : mkdtempSync(join(tmpdir(), "d1-sql-"));
  try {
    let input = ["--command", sql];
    if (dir) {
      input = ["--file", join(dir, "statements.sql")];
      writeFileSync(input[1], sql, { mode: 0o600 });
    }
    const result = wrangler(["d1", "execute", "DB", ...where(target), ...input, "--json", "--yes"]);
    let parsed;
    try {
      parsed = JSON.parse(result.stdout);
    } catch {
      throw new Error(`wrangler failed:\n${result.stdout}${result.stderr}`.trim());
    }
    if (result.status !== 0 || parsed.error) throw new Error(parsed.error?.text ?? result.stderr);
    return parsed.map((statement) => statement.results ?? []);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Turns D1's wording into advice a person can act on. */
export function explainD1Error(error, { remote = false } = {}) {
  const message = String(error?.message ?? error);
  if (message.includes("no such table")) {
    return `The database has no tables yet. Run \`npm run ${remote ? "db:migrate:remote" : "db:migrate"}\` first.`;
  }
  return message;
}
