// Loads the Worker's own TypeScript modules into Node, so the scripts hash and
// validate exactly as the API does (same bcrypt, same password and field rules)
// instead of keeping a second copy that could drift. Needs Node 24 run with
// --experimental-transform-types (the package.json scripts pass it).
import { readFileSync } from "node:fs";
// A namespace import: Node 20 lacks registerHooks, and a named import would fail before
// scripts/lib/pinned-node.mjs could re-run the script on the pinned Node.
import * as nodeModule from "node:module";

// The Worker's sources import siblings without an extension ("./passwords"),
// as the bundler allows; Node needs the ".ts" spelled out.
nodeModule.registerHooks({
  resolve(specifier, context, nextResolve) {
    const extensionless = /^\.{1,2}\//.test(specifier) && !/\.[cm]?[jt]s$/.test(specifier);
    return nextResolve(extensionless ? `${specifier}.ts` : specifier, context);
  },
});

const passwords = await import("../../src/auth/passwords.ts");
const fields = await import("../../src/users/fields.ts");

export const { hashPassword, passwordProblems } = passwords;
export const { emailField, usernameField } = fields;

/**
 * A numeric setting as the Worker sees it: the environment, else wrangler.toml's
 * [vars], else the Worker's default. (Enough for the flat NAME = "value" lines there.)
 */
export function workerVar(name, fallback) {
  const fromEnv = process.env[name];
  if (fromEnv) return Number(fromEnv);
  const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
  const match = new RegExp(`^${name}\\s*=\\s*"?(\\d+)"?\\s*$`, "m").exec(toml);
  return match ? Number(match[1]) : fallback;
}
