// `npm run test:e2e`: the SPA use case in a real browser (Debian's chromium driven by playwright-core).
// Starts the mail capture, two static servers for test/e2e/spa (one origin allowed by CORS_ORIGINS,
// one not) and `npm run dev` with its own throwaway local D1/KV, then walks a user through register,
// verify, login, /me, a post, refresh, logout, a password reset on the API's HTML page, a CORS refusal
// and the /docs page. One screenshot per step in test-results/e2e/; prints "N passed, M failed".
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startMailServer } from "../support/mail-server.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(ROOT, "test-results/e2e");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const RUN_TIMEOUT_MS = 5 * 60_000;
const STEP_TIMEOUT_MS = 30_000;
const PASSWORD = "correct-horse-battery-9";
const NEW_PASSWORD = "a-brand-new-passphrase-42";

const cleanups = [];
const log = (...args) => console.log("[e2e]", ...args);

/** A port the OS says is free right now. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const listen = (server) =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));

const closeServer = (server) =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** Serves the SPA's three files, nothing else. */
function spaServer() {
  const files = { "/": "index.html", "/app.js": "app.js", "/style.css": "style.css" };
  const types = { html: "text/html", js: "text/javascript", css: "text/css" };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://x").pathname];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, {
      "content-type": `${types[file.split(".").pop()]}; charset=utf-8`,
      "cache-control": "no-store",
    });
    res.end(readFileSync(join(ROOT, "test/e2e/spa", file)));
  });
  return server;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what} took longer than ${ms} ms`)))]);

/** Starts `npm run dev` in its own process group (so the whole tree can be stopped) on a throwaway state dir. */
async function startApi({ mailUrl, spaOrigin }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const persistTo = mkdtempSync(join(tmpdir(), "e2e-wrangler-"));
  cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  // scripts/dev.mjs migrates the default local state; the throwaway one is migrated here.
  const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  const vars = {
    MAIL_PROVIDER: "resend",
    MAIL_API_URL: mailUrl,
    MAIL_API_KEY: `e2e-${randomBytes(8).toString("hex")}`,
    CORS_ORIGINS: spaOrigin,
    APP_URL: `http://127.0.0.1:${port}`,
    BCRYPT_COST: "4",
    REQUIRE_EMAIL_VERIFICATION: "false",
  };
  // `--var` wins over wrangler.toml and .dev.vars, so a developer's local settings cannot leak in.
  const args = ["run", "dev", "--", "--ip", "127.0.0.1", "--port", `${port}`, "--persist-to", persistTo];
  args.push("--inspector-port", `${inspectorPort}`, "--show-interactive-dev-session=false");
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const logFile = createWriteStream(join(OUT, "wrangler.log"));
  const child = spawn("npm", args, { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(logFile);
  child.stderr.pipe(logFile);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid, "SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!stopped) process.kill(-child.pid, "SIGKILL");
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "the API's /health (see test-results/e2e/wrangler.log)",
    async () => {
      if (child.exitCode !== null) throw new Error(`npm run dev exited with ${child.exitCode}`);
      return (await fetch(`${url}/health`)).ok;
    },
    120_000,
  ).catch((err) => {
    throw child.exitCode !== null ? new Error(`npm run dev exited with ${child.exitCode}; see wrangler.log`) : err;
  });
  return url;
}

/** The `…/<page>?token=…` link in the email the capture received for `address` (the Node side reads it). */
function linkFromEmail(mailUrl, address, page) {
  const pattern = new RegExp(`https?://[^\\s"<>]+/${page}\\?token=[A-Za-z0-9_-]+`);
  return waitFor(
    `a ${page} email to ${address}`,
    async () => {
      const emails = await (await fetch(`${mailUrl}/messages?to=${encodeURIComponent(address)}`)).json();
      return emails.map((email) => pattern.exec(email.text)?.[0]).find(Boolean);
    },
    15_000,
  );
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const results = [];
  let stepNo = 0;
  let page;

  /** A flow is a list of steps that build on each other: after a failure, its remaining steps are not attempted. */
  async function flow(name, steps) {
    let broken = false;
    for (const [title, fn] of steps) {
      const label = `${String(++stepNo).padStart(2, "0")} ${name}: ${title}`;
      if (broken) {
        results.push({ label, ok: false, error: "not run: an earlier step of this flow failed" });
        log(`FAIL ${label} (not run)`);
        continue;
      }
      try {
        await withTimeout(fn(), STEP_TIMEOUT_MS, label);
        results.push({ label, ok: true });
        log(`ok   ${label}`);
      } catch (err) {
        broken = true;
        results.push({ label, ok: false, error: err.message });
        log(`FAIL ${label}: ${err.message}`);
      }
      const file = `${label.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")}.png`;
      await page?.screenshot({ path: join(OUT, file), fullPage: true }).catch(() => {});
    }
  }

  const { server: mailServer, url: mailUrl } = await startMailServer(0);
  cleanups.push(() => closeServer(mailServer));
  const allowed = spaServer();
  const blocked = spaServer();
  const spaOrigin = await listen(allowed);
  const otherOrigin = await listen(blocked);
  cleanups.push(
    () => closeServer(allowed),
    () => closeServer(blocked),
  );
  log(`mail capture ${mailUrl}, SPA ${spaOrigin}, non-allowed origin ${otherOrigin}; starting npm run dev…`);
  const apiUrl = await startApi({ mailUrl, spaOrigin });
  log(`API ${apiUrl}`);

  const userDataDir = mkdtempSync(join(tmpdir(), "e2e-chromium-"));
  cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1100, height: 900 },
  });
  cleanups.unshift(() => context.close());
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  /** Console errors of the current page: a CSP violation shows up here. */
  let consoleErrors = [];
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(msg.text()));
  page.on("pageerror", (err) => consoleErrors.push(err.message));
  const open = async (url) => {
    consoleErrors = [];
    await page.goto(url);
  };
  const noConsoleErrors = () => check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(" | ")}`);

  const spa = `${spaOrigin}/?api=${encodeURIComponent(apiUrl)}`;
  /** Clicks the SPA's button for `action` and waits until its request finished with `status`. */
  const act = async (action, status) => {
    await page.click(`#${action}`);
    await page.waitForFunction(
      (a) => !document.body.dataset.step?.endsWith(":pending") && document.body.dataset.step?.startsWith(`${a}:`),
      action,
    );
    const step = await page.evaluate(() => document.body.dataset.step);
    const text = await page.textContent("#status");
    check(step === `${action}:${status}`, `expected ${action}:${status}, got ${step} (${text})`);
    return JSON.parse((await page.textContent("#result")) || "null");
  };
  const fill = async (fields) => {
    for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
  };

  const username = `e2e_${randomBytes(4).toString("hex")}`;
  const email = `${username}@example.com`;
  let firstRefreshToken;

  await flow("account", [
    [
      "register in the SPA",
      async () => {
        await open(spa);
        await fill({ username, email, password: PASSWORD });
        const body = await act("register", 201);
        check(body.data.user.emailVerified === false, "a new account must start unverified");
      },
    ],
    [
      "open the emailed verification link and confirm",
      async () => {
        const link = await linkFromEmail(mailUrl, email, "verify-email");
        check(link.startsWith(`${apiUrl}/verify-email?token=`), `unexpected link ${link}`);
        await open(link);
        await page.click("button[type=submit]");
        await page.waitForSelector("#status.ok");
        noConsoleErrors();
      },
    ],
    [
      "log in in the SPA",
      async () => {
        await open(spa);
        await fill({ email, password: PASSWORD });
        const body = await act("login", 200);
        check(body.data.tokenType === "Bearer" && body.data.accessToken, "login returned no access token");
        firstRefreshToken = body.data.refreshToken;
      },
    ],
    [
      "load /me (verified)",
      async () => {
        const body = await act("me", 200);
        check(body.data.user.email === email && body.data.user.emailVerified === true, "me is not the verified user");
      },
    ],
    [
      "create a post",
      async () => {
        await fill({ title: "Hello from the browser", content: "Written by the e2e test through CORS." });
        const body = await act("create-post", 201);
        check(body.data.post.author.username === username, "the post is not by the user");
      },
    ],
    [
      "refresh the token",
      async () => {
        const body = await act("refresh", 200);
        check(body.data.refreshToken !== firstRefreshToken, "the refresh token was not rotated");
        await act("me", 200);
      },
    ],
    [
      "log out; the access token is refused at once",
      async () => {
        await act("logout", 200);
        const body = await act("me", 401);
        check(body.error.code === "UNAUTHORIZED", "expected UNAUTHORIZED after logout");
      },
    ],
  ]);

  const resetUser = `e2e_${randomBytes(4).toString("hex")}`;
  const resetEmail = `${resetUser}@example.com`;
  await flow("password reset", [
    [
      "register and ask for a reset link in the SPA",
      async () => {
        await open(spa);
        await fill({ username: resetUser, email: resetEmail, password: PASSWORD });
        await act("register", 201);
        await act("forgot", 200);
      },
    ],
    [
      "fill in and submit the reset page",
      async () => {
        const link = await linkFromEmail(mailUrl, resetEmail, "reset-password");
        check(link.startsWith(`${apiUrl}/reset-password?token=`), `unexpected link ${link}`);
        await open(link);
        check(!page.url().includes("token="), "the page should drop the token from the address bar");
        await page.fill("input[name=password]", NEW_PASSWORD);
        await page.fill("input[name=confirm]", NEW_PASSWORD);
        await page.click("button[type=submit]");
        await page.waitForSelector("#status.ok");
        noConsoleErrors();
      },
    ],
    [
      "log in with the new password; the old one fails",
      async () => {
        await open(spa);
        await fill({ email: resetEmail, password: PASSWORD });
        await act("login", 401);
        await fill({ password: NEW_PASSWORD });
        await act("login", 200);
      },
    ],
  ]);

  await flow("CORS", [
    [
      "a page on a non-allowed origin cannot read the API",
      async () => {
        await open(`${otherOrigin}/?api=${encodeURIComponent(apiUrl)}`);
        await fill({ email, password: PASSWORD });
        await page.click("#login");
        await page.waitForFunction(() => document.body.dataset.step === "login:network-error");
        const outcome = await page.evaluate(async (api) => {
          try {
            await fetch(`${api}/health`);
            return "read the response";
          } catch (err) {
            return `threw ${err.name}`;
          }
        }, apiUrl);
        check(outcome === "threw TypeError", `fetch from a non-allowed origin ${outcome}`);
        // The API is up and answers; it just grants this origin nothing.
        const res = await fetch(`${apiUrl}/health`, { headers: { Origin: otherOrigin } });
        check(
          res.ok && !res.headers.has("access-control-allow-origin"),
          "the API granted CORS to a non-allowed origin",
        );
      },
    ],
  ]);

  await flow("docs", [
    [
      "/docs lists every operation and sends a request",
      async () => {
        const doc = await (await fetch(`${apiUrl}/openapi.json`)).json();
        const count = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
        await open(`${apiUrl}/docs`);
        await page.waitForFunction((n) => document.querySelectorAll("main > details").length === n, count);
        /** Opens an operation, sends it, and waits for the answer's status line. */
        const expand = (id) =>
          page.$eval(`#${id}`, (details) => details.open || details.querySelector("summary").click());
        const send = async (id, status) => {
          await expand(id);
          await page.click(`#${id} > button`);
          await page.waitForFunction(
            ([op, s]) => document.querySelector(`#${op} > pre`)?.textContent?.startsWith(`${s} `),
            [id, status],
          );
        };
        await send("getHealth", 200);
        // A JSON body: the login answer's access token becomes the page's bearer token...
        await expand("postLogin");
        await page.fill("#postLogin textarea", JSON.stringify({ email, password: PASSWORD }));
        await send("postLogin", 200);
        check((await page.inputValue("#token")).split(".").length === 3, "the docs page did not keep the access token");
        // ...which the next call sends.
        await send("getMe", 200);
        check((await page.textContent("#getMe > pre")).includes(email), "GET /me from the docs page is not the user");
        noConsoleErrors();
      },
    ],
  ]);

  const failed = results.filter((r) => !r.ok);
  for (const r of failed) log(`failed: ${r.label}: ${r.error}`);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0;
}

async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.shift();
    await withTimeout(Promise.resolve().then(fn), 10_000, "cleanup").catch((err) => log(`cleanup: ${err.message}`));
  }
}

const timer = setTimeout(async () => {
  log(`the whole run took longer than ${RUN_TIMEOUT_MS / 1000} s; stopping`);
  console.log("0 passed, 1 failed");
  await cleanup();
  process.exit(1);
}, RUN_TIMEOUT_MS);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await cleanup();
    process.exit(130);
  });
}

let ok = false;
try {
  ok = await main();
} catch (err) {
  log(`setup failed: ${err.stack ?? err}`);
  console.log("0 passed, 1 failed");
}
await cleanup();
clearTimeout(timer);
process.exit(ok ? 0 : 1);
