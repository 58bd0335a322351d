// `npm run test:e2e`: the SPA use case in a real browser (Debian's chromium driven by playwright-core).
// Starts two static servers for test/e2e/spa (one origin allowed by CORS_ORIGINS, one not) and
// `npm run dev` with its own throwaway local D1/KV and its local inbox on a free port, then walks a
// user through the index page, register, the inbox, another account's session refused on the link (N1),
// verify on the API's page (signing in there), login, /me, a post,
// refresh, logout, a password reset on the API's page, TOTP, a sign-in with an email code, a passkey
// (Chromium's virtual authenticator), a social sign-in through the local identity provider
// (test/support/oidc-provider.ts), a CORS refusal and a request sent from the /docs reference.
// One screenshot per step in test-results/e2e/; prints "N passed, M failed".
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(ROOT, "test-results/e2e");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const RUN_TIMEOUT_MS = 8 * 60_000;
const STEP_TIMEOUT_MS = 30_000;
const PASSWORD = "correct-horse-battery-9";
const NEW_PASSWORD = "a-brand-new-passphrase-42";

// test/support/*.ts import each other without extensions (as the bundler resolves them); Node needs `.ts`.
registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (!specifier.startsWith(".") || /\.\w+$/.test(specifier)) throw err;
      return next(`${specifier}.ts`, context);
    }
  },
});

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
async function startApi({ inboxPort, spaOrigin, passkeyOrigin, oauthProviders }) {
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
  // Mail goes to the dev launcher's local inbox (--inbox-port), as in `npm run dev`.
  const vars = {
    APP_NAME: "Edge Users",
    // The passkey flow runs the SPA on http://localhost:<port>: an IP address cannot be an RP ID.
    CORS_ORIGINS: `${spaOrigin},${passkeyOrigin}`,
    WEBAUTHN_RP_ID: "localhost",
    WEBAUTHN_ORIGINS: passkeyOrigin,
    APP_URL: `http://127.0.0.1:${port}`,
    BCRYPT_COST: "4",
    REQUIRE_EMAIL_VERIFICATION: "false",
    // Social sign-in at the local provider; the callback is this API (APP_URL's origin here, said explicitly).
    OAUTH_PROVIDERS: oauthProviders,
    OAUTH_CALLBACK_ORIGIN: `http://127.0.0.1:${port}`,
  };
  // `--var` wins over wrangler.toml and .dev.vars, so a developer's local settings cannot leak in.
  const args = ["run", "dev", "--", "--ip", "127.0.0.1", "--port", `${port}`, "--persist-to", persistTo];
  args.push("--inbox-port", `${inboxPort}`);
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

/** The token of the newest registration (verification) email to `address`, read from the inbox. */
async function verificationToken(mailUrl, address) {
  return new URL(await linkFromEmail(mailUrl, address, "verify-email")).searchParams.get("token");
}

/** The 6-digit code of the newest sign-in code email to an address, read from the inbox. */
function codeFromEmail(mailUrl, address, count) {
  return waitFor(
    `sign-in code email #${count} to ${address}`,
    async () => {
      const emails = await (await fetch(`${mailUrl}/messages?to=${encodeURIComponent(address)}`)).json();
      const codes = emails.filter((e) => e.subject === "Your sign-in code");
      return codes.length >= count ? /sign-in code is (\d{6})\./.exec(codes[count - 1].text)?.[1] : undefined;
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
    for (const [title, fn, timeoutMs = STEP_TIMEOUT_MS] of steps) {
      const label = `${String(++stepNo).padStart(2, "0")} ${name}: ${title}`;
      if (broken) {
        results.push({ label, ok: false, error: "not run: an earlier step of this flow failed" });
        log(`FAIL ${label} (not run)`);
        continue;
      }
      try {
        await withTimeout(fn(), timeoutMs, label);
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

  const mailUrl = `http://127.0.0.1:${await freePort()}`;
  const allowed = spaServer();
  const blocked = spaServer();
  const spaOrigin = await listen(allowed);
  const otherOrigin = await listen(blocked);
  cleanups.push(
    () => closeServer(allowed),
    () => closeServer(blocked),
  );
  // The identity provider stand-in the unit tests use, with its auto-consenting /authorize.
  const { startOidcProvider } = await import("../support/oidc-provider.ts");
  const { TEST_OAUTH_CLIENT } = await import("../support/oidc-client.ts");
  const idp = await startOidcProvider();
  cleanups.push(() => closeServer(idp.server));
  const oauthProviders = JSON.stringify({
    acme: {
      type: "oidc",
      name: "Acme SSO",
      issuer: idp.url,
      clientId: TEST_OAUTH_CLIENT.id,
      clientSecret: TEST_OAUTH_CLIENT.secret,
    },
  });
  log(`inbox ${mailUrl}, SPA ${spaOrigin}, non-allowed origin ${otherOrigin}, IdP ${idp.url}; starting npm run dev…`);
  const passkeyOrigin = spaOrigin.replace("127.0.0.1", "localhost");
  const apiUrl = await startApi({
    inboxPort: Number(new URL(mailUrl).port),
    spaOrigin,
    passkeyOrigin,
    oauthProviders,
  });
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
  /** Requests the current page made to any origin but the API's (the /docs page must make none). */
  let foreignRequests = [];
  page.on("request", (req) => {
    const url = req.url();
    if (/^https?:/.test(url) && new URL(url).origin !== new URL(apiUrl).origin) foreignRequests.push(url);
  });
  const open = async (url) => {
    consoleErrors = [];
    foreignRequests = [];
    await page.goto(url);
  };
  const shot = (name, fullPage = true) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage });
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
  /**
   * Confirms `address` in the SPA, signed in as its account, with the token of its registration
   * email: passkeys and TOTP attach only to verified accounts (docs/API.md, "Pre-account takeover"),
   * and a verification lands only with the account's session (N1).
   */
  const verifyInSpa = async (address) => {
    await fill({ "verify-token": await verificationToken(mailUrl, address) });
    const body = await act("verify-email", 200);
    check(body.data.user.emailVerified === true, `${address} is not verified`);
  };

  const username = `e2e_${randomBytes(4).toString("hex")}`;
  const email = `${username}@example.com`;
  let firstRefreshToken;

  await flow("index", [
    [
      "GET / names the API and links the reference, the document and the health check",
      async () => {
        await open(`${apiUrl}/`);
        check((await page.textContent("h1")) === "Edge Users API", "the index does not name the API");
        for (const href of ["/docs", "/openapi.json", "/health"]) {
          check((await page.locator(`a[href="${href}"]`).count()) === 1, `the index does not link ${href}`);
        }
        noConsoleErrors();
      },
    ],
  ]);

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
      "another account signed in in the SPA cannot confirm that link (N1); the address stays unconfirmed",
      async () => {
        const other = `e2e_${randomBytes(4).toString("hex")}`;
        await fill({ username: other, email: `${other}@example.com`, password: PASSWORD });
        await act("register", 201);
        await act("login", 200);
        await fill({ "verify-token": await verificationToken(mailUrl, email) });
        const refused = await act("verify-email", 400);
        check(refused.error.code === "INVALID_TOKEN", `expected INVALID_TOKEN, got ${refused.error.code}`);
        await act("logout", 200);
        await fill({ username, email, password: PASSWORD });
      },
    ],
    [
      "the local inbox lists the verification email; its link opens the branded page",
      async () => {
        const link = await linkFromEmail(mailUrl, email, "verify-email");
        check(link.startsWith(`${apiUrl}/verify-email?token=`), `unexpected link ${link}`);
        await page.goto(`${mailUrl}/`);
        const message = page.locator("article", { hasText: email });
        check(
          (await message.locator("h2").textContent()) === "Confirm your email address",
          "no such email in the inbox",
        );
        await shot("inbox");
        consoleErrors = [];
        await message.locator("a.button").first().click();
        await page.waitForURL(`${apiUrl}/verify-email`);
        check((await page.textContent("header.brand")).includes("Edge Users"), "the page does not show APP_NAME");
      },
    ],
    [
      "the verify page survives a reload, signs the holder in (a wrong password first), confirms, and offers a way on",
      async () => {
        await page.reload();
        check(!page.url().includes("token="), "the token is back in the address bar");
        await page.fill("#email", email);
        await page.fill("#password", NEW_PASSWORD);
        await page.click("button[type=submit]");
        await page.waitForSelector("#status.err");
        await shot("verify-page-error");
        consoleErrors = [];
        await page.fill("#password", PASSWORD);
        await page.click("button[type=submit]");
        await page.waitForSelector("#status.ok");
        check(await page.isVisible("#next a"), "no way on after success");
        // APP_URL is the API's own origin here (resend-style mail needs one), so the way on is its index.
        const next = new URL((await page.getAttribute("#next a", "href")) ?? "", apiUrl).href;
        check(next === new URL("/", apiUrl).href, `the way on leads to APP_URL, not ${next}`);
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
        check(
          (await page.textContent("#rules")).includes("At least 12 characters"),
          "the password rules are not shown",
        );
        // A mistake shows an error, which goes away as soon as the person types again.
        await page.fill("input[name=password]", NEW_PASSWORD);
        await page.fill("input[name=confirm]", `${NEW_PASSWORD}x`);
        await page.click("button[type=submit]");
        await page.waitForSelector("#status.err");
        await shot("reset-page-error");
        await page.fill("input[name=confirm]", NEW_PASSWORD);
        check((await page.textContent("#status")) === "", "a stale error stays on screen");
        await page.click("button[type=submit]");
        await page.waitForSelector("#status.ok");
        check(await page.isVisible("#next a"), "no way on after success");
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

  // TOTP codes are computed here with node:crypto (test/support/totp.ts), never by the code under test.
  const { base32Decode, totpCode } = await import("../support/totp.ts");
  const mfaUser = `e2e_${randomBytes(4).toString("hex")}`;
  let mfaSecret;
  await flow("two-step sign-in", [
    [
      "register, log in, verify with the inbox's token and set up an authenticator in the SPA",
      async () => {
        await open(spa);
        await fill({ username: mfaUser, email: `${mfaUser}@example.com`, password: PASSWORD });
        await act("register", 201);
        await act("login", 200);
        await verifyInSpa(`${mfaUser}@example.com`);
        const body = await act("mfa-start", 200);
        check(body.data.otpauthUrl.startsWith("otpauth://totp/"), "no otpauth URL");
        mfaSecret = base32Decode(await page.textContent("#mfa-secret"));
      },
    ],
    [
      "confirm with a code from the app; recovery codes are shown once",
      async () => {
        await fill({ "mfa-code": totpCode(mfaSecret, Date.now(), -1) });
        const body = await act("mfa-confirm", 200);
        check(body.data.recoveryCodes.length === 10, "not 10 recovery codes");
      },
    ],
    [
      "log out, log in: the password asks for a code, and the code signs in",
      async () => {
        await act("logout", 200);
        const first = await act("login", 200);
        check(first.data.mfaRequired === true && !first.data.accessToken, "the password alone signed in");
        await fill({ "mfa-code": totpCode(mfaSecret, Date.now()) });
        const body = await act("login-mfa", 200);
        check(body.data.accessToken, "no access token after the code");
        const me = await act("me", 200);
        check(me.data.user.mfaEnabled === true, "/me does not show mfaEnabled");
        await shot("mfa-signed-in");
      },
    ],
  ]);

  const codeUser = `e2e_${randomBytes(4).toString("hex")}`;
  const codeEmail = `${codeUser}@example.com`;
  await flow("email code", [
    [
      "register in the SPA, then ask for a sign-in code",
      async () => {
        await open(spa);
        await fill({ username: codeUser, email: codeEmail, password: PASSWORD });
        await act("register", 201);
        await open(spa);
        await fill({ email: codeEmail });
        await act("email-code", 200);
      },
    ],
    [
      "a wrong code is refused; the code from the inbox signs in and takes back the unverified account",
      async () => {
        const code = await codeFromEmail(mailUrl, codeEmail, 1);
        check(/^\d{6}$/.test(code ?? ""), "no code in the email");
        const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
        await fill({ "email-code-value": wrongCode });
        const refused = await act("email-code-verify", 401);
        check(refused.error.code === "INVALID_EMAIL_CODE", "a wrong code was not INVALID_EMAIL_CODE");
        await fill({ "email-code-value": code });
        const body = await act("email-code-verify", 200);
        check(body.data.accessToken && body.data.user.emailVerified === true, "the code did not sign in verified");
        await act("me", 200);
        await shot("email-code-signed-in");
        // The password the registrant set is gone: the mailbox owner signed in.
        // (The two deliberate 401s are in the console, so console errors are not checked here.)
        await fill({ password: PASSWORD });
        await act("login", 401);
      },
    ],
  ]);

  await flow("social sign-in", [
    [
      "the SPA shows a button per provider, from GET /oauth/providers",
      async () => {
        await open(spa);
        await page.waitForSelector("#oauth-acme");
        check((await page.textContent("#oauth-acme")) === "Sign in with Acme SSO", "no Acme SSO button");
      },
    ],
    [
      "the button goes through the provider and lands back in the SPA signed in",
      async () => {
        const visited = [];
        const onNavigate = (frame) => frame === page.mainFrame() && visited.push(frame.url());
        page.on("framenavigated", onNavigate);
        await page.click("#oauth-acme");
        await page.waitForFunction(
          () =>
            document.body.dataset.step?.startsWith("oauth-token:") && !document.body.dataset.step.endsWith(":pending"),
        );
        page.off("framenavigated", onNavigate);
        const step = await page.evaluate(() => document.body.dataset.step);
        check(
          step === "oauth-token:200",
          `expected oauth-token:200, got ${step} (${await page.textContent("#status")})`,
        );
        check(new URL(page.url()).origin === spaOrigin, `landed on ${page.url()}`);
        check(!page.url().includes("code="), "the login code stayed in the address bar");
        check(
          visited.every((url) => !/access_token|refresh|eyJ/.test(url)),
          "a token travelled in a URL",
        );
        const me = await act("me", 200);
        check(me.data.user.email.endsWith("@idp.test") && me.data.user.emailVerified, "me is not the provider's user");
        await shot("social-signed-in");
        noConsoleErrors();
      },
    ],
  ]);

  // Chromium's virtual authenticator (DevTools protocol, WebAuthn domain): a platform passkey with
  // user verification, answering create() and get() as a phone or laptop would, with no prompt.
  const passkeyUser = `e2e_${randomBytes(4).toString("hex")}`;
  const passkeySpa = `${passkeyOrigin}/?api=${encodeURIComponent(apiUrl)}`;
  await flow("passkey", [
    [
      "register, log in with a password and verify with the inbox's token in the SPA (on localhost, the RP ID)",
      async () => {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send("WebAuthn.enable");
        await cdp.send("WebAuthn.addVirtualAuthenticator", {
          options: {
            protocol: "ctap2",
            transport: "internal",
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
          },
        });
        // A first visit to this origin asks for /favicon.ico (a 404 in the console), so console errors are not checked here.
        await open(passkeySpa);
        await fill({ username: passkeyUser, email: `${passkeyUser}@example.com`, password: PASSWORD });
        await act("register", 201);
        await act("login", 200);
        await verifyInSpa(`${passkeyUser}@example.com`);
      },
    ],
    [
      "add a passkey: navigator.credentials.create() with the API's options",
      async () => {
        const body = await act("passkey-register", 201);
        check(body.data.passkey.name === "E2E browser", "the passkey was not stored with its name");
      },
    ],
    [
      "log out, then sign in with the passkey alone (navigator.credentials.get()): shown signed in",
      async () => {
        await act("logout", 200);
        await fill({ email: "", password: "" });
        const body = await act("passkey-login", 200);
        check(body.data.accessToken && body.data.user.username === passkeyUser, "the passkey did not sign in");
        const me = await act("me", 200);
        check(me.data.user.username === passkeyUser, "/me is not the passkey's user");
        check((await page.textContent("#who")).startsWith(passkeyUser), "the SPA does not show the user signed in");
        await shot("passkey-signed-in");
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
      "/docs (Scalar) renders from this origin only and sends a real request",
      async () => {
        await open(`${apiUrl}/docs#tag/operations/GET/health`);
        await page.getByRole("button", { name: /Test Request.*get \/health/ }).click();
        const answered = page.waitForResponse((r) => r.url() === `${apiUrl}/health` && r.request().method() === "GET");
        await page.getByRole("button", { name: /^Send/ }).first().click();
        const response = await answered;
        check(response.status() === 200, `GET /health from the reference answered ${response.status()}`);
        await page.getByText("200 OK").first().waitFor();
        await shot("docs-request-sent", false);
        check(foreignRequests.length === 0, `the reference called other origins: ${foreignRequests.join(", ")}`);
        noConsoleErrors();
      },
    ],
  ]);

  await flow("dev launcher", [
    [
      "a second npm run dev on the same ports stops and says so",
      async () => {
        const second = spawnSync(
          process.execPath,
          ["scripts/dev.mjs", "--port", new URL(apiUrl).port, "--inbox-port", new URL(mailUrl).port],
          { cwd: ROOT, encoding: "utf8", timeout: 20_000 },
        );
        check(second.status === 1, `expected exit 1, got ${second.status}`);
        check(/Ports .* are already in use/.test(second.stderr), `no clear message: ${second.stderr}`);
      },
    ],
    [
      "a misconfigured Worker is reported loudly in the terminal at startup",
      async () => {
        const persistTo = mkdtempSync(join(tmpdir(), "e2e-misconfigured-"));
        cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
        const args = [
          "scripts/dev.mjs",
          "--ip",
          "127.0.0.1",
          "--port",
          `${await freePort()}`,
          "--persist-to",
          persistTo,
        ];
        args.push("--inbox-port", `${await freePort()}`, "--inspector-port", `${await freePort()}`);
        args.push("--show-interactive-dev-session=false", "--var", "JWT_SECRET:too-short");
        const child = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk) => {
          stderr += chunk;
        });
        try {
          await waitFor("the misconfiguration banner", async () => stderr.includes("503 MISCONFIGURED"), 80_000);
          check(stderr.includes("JWT_SECRET must be at least 32 characters"), "the banner does not name the variable");
          check(!stderr.includes("too-short"), "the banner shows the secret's value");
        } finally {
          process.kill(-child.pid, "SIGTERM");
        }
      },
      90_000,
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
