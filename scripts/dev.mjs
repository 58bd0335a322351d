// `npm run dev` (or `node scripts/dev.mjs`): makes a fresh clone runnable with no manual step
// and no question asked.
// 1. writes .dev.vars with a random JWT_SECRET and ENCRYPTION_KEY and MAIL_PROVIDER=console when it is missing,
// 2. refuses to start when the API's port (8787) or the inbox's (8788) is taken,
// 3. applies migrations to the embedded local D1 (.wrangler/state) without a prompt,
// 4. starts the local inbox (test/support/mail-server.ts) and sends the Worker's mail there,
// 5. starts `wrangler dev` (extra arguments are passed through), then checks /health and says
//    loudly in the terminal when the Worker's configuration is wrong.
// `npm run dev -- --no-inbox` keeps whatever MAIL_PROVIDER .dev.vars says; so does MAIL_PROVIDER=resend
// in .dev.vars, unless `--inbox-port N` asks for the inbox explicitly (the browser test does).
import "./lib/pinned-node.mjs";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { applyLocalMigrations } from "./lib/d1.mjs";
import { copyDocsAssets } from "./lib/docs-assets.mjs";
import { writeOpenApiDocument } from "./openapi-document.mjs";

let inboxUrl;

if (!existsSync(".dev.vars")) {
  writeFileSync(
    ".dev.vars",
    [
      "# Local settings for `wrangler dev`. Git-ignored; see .dev.vars.example for every variable.",
      `JWT_SECRET=${randomBytes(32).toString("hex")}`,
      `ENCRYPTION_KEY=${randomBytes(32).toString("hex")}`,
      // Production defaults to resend; locally mail must never leave the machine.
      "MAIL_PROVIDER=console",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  console.log("Created .dev.vars with a random JWT_SECRET and ENCRYPTION_KEY, and MAIL_PROVIDER=console.");
}

const wranglerArgs = process.argv.slice(2);
/** Reads (and with `own`, removes) `--name value` from the arguments. */
const flag = (name, own = false) => {
  const at = wranglerArgs.indexOf(name);
  if (at < 0) return undefined;
  const value = wranglerArgs[at + 1];
  if (own) wranglerArgs.splice(at, 2);
  return value;
};
const INBOX_PORT = Number(flag("--inbox-port", true) ?? 8788);
const inboxAsked = process.argv.includes("--inbox-port");
const noInbox = wranglerArgs.includes("--no-inbox");
if (noInbox) wranglerArgs.splice(wranglerArgs.indexOf("--no-inbox"), 1);
const inbox = !noInbox && (inboxAsked || devVar("MAIL_PROVIDER") !== "resend");
if (!flag("--port")) wranglerArgs.push("--port", "8787");
const port = Number(flag("--port"));
const persistTo = flag("--persist-to");

/** True when something already accepts connections on the port (IPv4 or IPv6 loopback). */
const taken = (p) =>
  Promise.all(
    ["127.0.0.1", "::1"].map(
      (host) =>
        new Promise((resolve) => {
          const socket = connect({ host, port: p });
          socket.once("connect", () => {
            socket.destroy();
            resolve(true);
          });
          socket.once("error", () => resolve(false));
        }),
    ),
  ).then((answers) => answers.some(Boolean));

const busy = [];
if (await taken(port)) busy.push(`${port} (the API)`);
if (inbox && (await taken(INBOX_PORT))) busy.push(`${INBOX_PORT} (the local inbox)`);
if (busy.length) {
  // wrangler would silently move to another port; a second `npm run dev` is almost always a mistake.
  console.error(
    `\n${busy.length > 1 ? "Ports" : "Port"} ${busy.join(" and ")} ${busy.length > 1 ? "are" : "is"} already in use: is another \`npm run dev\` running?\n` +
      "Stop it, or pick other ports: npm run dev -- --port 8790 (and --no-inbox when 8788 is busy).\n",
  );
  process.exit(1);
}

// /openapi.json serves docs/openapi.json: regenerate it so dev serves what the routes declare now.
try {
  await writeOpenApiDocument();
} catch (err) {
  console.warn(`warning: docs/openapi.json not regenerated (${err.message}); /openapi.json serves the committed one.`);
}
copyDocsAssets();

// Without a terminal on stdin wrangler applies migrations instead of asking "continue? (Y/n)".
try {
  applyLocalMigrations({ persistTo });
  console.log("Local D1 is up to date with migrations/.");
} catch (err) {
  console.error(err.message);
  process.exit(1);
}

const vars = [];
if (inbox) {
  const { startMailServer } = await import("../test/support/mail-server.ts");
  const { url } = await startMailServer(INBOX_PORT, {
    onMessage: (m) => console.log(`\n[inbox] to ${m.to.join(", ")}: ${m.subject}\n${m.text}\n`),
  });
  // `--var` wins over wrangler.toml and .dev.vars; the key only has to be non-empty.
  vars.push(["MAIL_PROVIDER", "resend"], ["MAIL_API_URL", url], ["MAIL_API_KEY", "local-inbox"]);
  // The resend provider needs APP_URL for its links; without one in .dev.vars they point at this API's own pages.
  const appUrlGiven = wranglerArgs.some((arg) => arg.startsWith("APP_URL:"));
  if (!devVar("APP_URL") && !appUrlGiven) vars.push(["APP_URL", `http://localhost:${port}`]);
  inboxUrl = `${url}/`;
}

const wranglerPackage = createRequire(import.meta.url).resolve("wrangler/package.json");
const wranglerBin = join(dirname(wranglerPackage), JSON.parse(readFileSync(wranglerPackage, "utf8")).bin.wrangler);
const child = spawn(
  process.execPath,
  [wranglerBin, "dev", ...wranglerArgs, ...vars.flatMap(([k, v]) => ["--var", `${k}:${v}`])],
  { stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

await reportHealth(`http://localhost:${port}`);

/** A variable as .dev.vars sets it (undefined when it does not). */
function devVar(name) {
  const line = readFileSync(".dev.vars", "utf8")
    .split("\n")
    .find((l) => l.trim().startsWith(`${name}=`));
  return line
    ?.slice(line.indexOf("=") + 1)
    .trim()
    .replace(/^"(.*)"$/, "$1");
}

/**
 * Waits for the Worker, then prints where everything is, or a loud banner when the Worker
 * refuses to serve (503 MISCONFIGURED, e.g. a JWT_SECRET shorter than 32 characters).
 */
async function reportHealth(base) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const res = await fetch(`${base}/health`).catch(() => undefined);
    if (res) {
      const body = await res.json().catch(() => ({}));
      if (res.ok) {
        console.log(
          `\n  API      ${base}\n  Docs     ${base}/docs\n` +
            (inboxUrl ? `  Inbox    ${inboxUrl}\n` : "  Mail     as MAIL_PROVIDER in .dev.vars says\n"),
        );
      } else {
        const line = `${res.status} ${body?.error?.code ?? ""}: ${body?.message ?? "the API is not healthy"}`;
        const rule = "!".repeat(Math.min(100, line.length + 4));
        const banner = `${rule}\n! ${line}\n! Fix it in .dev.vars (see .dev.vars.example) and run npm run dev again.\n${rule}`;
        console.error(`\n${process.stderr.isTTY ? `\x1b[1;31m${banner}\x1b[0m` : banner}\n`);
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
