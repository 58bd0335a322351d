// `npm run measure:enumeration`: how long login, forgot-password and
// resend-verification take for an existing versus an unknown account, on the
// Worker bundle as `wrangler deploy` builds it, run on workerd through
// Miniflare with the bindings of wrangler.toml (real rate limits included)
// and the production bcrypt cost. Prints median and p90 per case.
//
//   npm run measure:enumeration -- --samples 50
//
// Every request comes from its own CF-Connecting-IP and names its own
// account, so neither rate limit (per IP, per email) nor the hourly reset-mail
// quota is reached: what is timed is the full code path, not a 429. The script
// first checks that the header reaches the Worker as sent.
//
// The Worker harness and the migrations come from bench/ (runtime.mjs, seed.mjs).
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { startWorker } from "../bench/runtime.mjs";
import { applyMigrations } from "../bench/seed.mjs";
import { buildWorker } from "./bundle-size.mjs";

const { values: args } = parseArgs({ options: { samples: { type: "string", default: "50" } } });
const SAMPLES = Number(args.samples);
const PASSWORD = "measure-Harbor-lantern-71";
const WRONG_PASSWORD = "not-the-password-1";
// Miniflare names modules relative to the working directory, so the bundle must live under it.
const OUTDIR = "dist/measure-enumeration";

const config = unstable_readConfig({ config: "wrangler.toml" });
const workerOptions = () => ({
  compatibilityDate: config.compatibility_date,
  compatibilityFlags: config.compatibility_flags,
  d1Databases: Object.fromEntries(config.d1_databases.map((d) => [d.binding, `measure-${d.binding}`])),
  kvNamespaces: Object.fromEntries(config.kv_namespaces.map((k) => [k.binding, `measure-${k.binding}`])),
  ratelimits: Object.fromEntries(
    config.ratelimits.map((r) => [r.name, { namespace_id: r.namespace_id, simple: r.simple }]),
  ),
  // Mail goes to the console provider: printed to the (discarded) Worker log, never sent.
  bindings: { ...config.vars, JWT_SECRET: randomBytes(32).toString("hex"), MAIL_PROVIDER: "console" },
});

let ipCounter = 0;
/** A distinct client address per request (10.x.y.z, counting up). */
const nextIp = () => {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
};

let baseUrl;
/** One request, timed from send to the last byte of the body. */
async function call(method, path, { body, token, ip = nextIp() } = {}) {
  const headers = { "CF-Connecting-IP": ip };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const started = performance.now();
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json();
  return { status: res.status, json, ms: performance.now() - started };
}

/** CF-Connecting-IP must reach the Worker as sent, or every request would share one rate-limit bucket. */
async function checkClientIpIsHonoured() {
  const ip = nextIp();
  const limit = config.ratelimits.find((r) => r.name === "RATE_LIMIT_IP").simple.limit;
  let last;
  for (let i = 0; i <= limit; i++) last = await call("POST", "/verify-email", { body: { token: `probe-${i}` }, ip });
  const other = await call("POST", "/verify-email", { body: { token: "probe" } });
  if (last.status !== 429 || other.status !== 400) {
    throw new Error(
      `CF-Connecting-IP is not honoured (request ${limit + 1} from one IP: ${last.status}, another IP: ${other.status})`,
    );
  }
}

let accountCounter = 0;
async function register() {
  accountCounter += 1;
  const username = `measure_${accountCounter}_${randomBytes(3).toString("hex")}`;
  const email = `${username}@example.com`;
  const res = await call("POST", "/register", { body: { username, email, password: PASSWORD } });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.json)}`);
  return { id: res.json.data.user.id, email };
}

async function accessToken(email) {
  const res = await call("POST", "/login", { body: { email, password: PASSWORD } });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.data.accessToken;
}

const unknownEmail = () => `nobody_${randomBytes(6).toString("hex")}@example.com`;
const sequential = async (n, f) => {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
};

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.ceil(pos)] - sorted[lo]) * (pos - lo);
}

/**
 * Times `a(i)` and `b(i)` alternately, swapping which goes first every round,
 * so drift (JIT warm-up, background work after a response) falls on both.
 */
async function measurePair(name, [labelA, a], [labelB, b], expectedStatus) {
  const samples = { [labelA]: [], [labelB]: [] };
  const unexpected = [];
  for (let i = 0; i < SAMPLES; i++) {
    const order =
      i % 2
        ? [
            [labelB, b],
            [labelA, a],
          ]
        : [
            [labelA, a],
            [labelB, b],
          ];
    for (const [label, send] of order) {
      const res = await send(i);
      if (res.status !== expectedStatus) unexpected.push(`${label}: ${res.status} ${res.json?.error?.code ?? ""}`);
      samples[label].push(res.ms);
      await new Promise((r) => setTimeout(r, 5)); // let the previous request's waitUntil work finish
    }
  }
  return { name, samples, unexpected };
}

function printPair({ name, samples, unexpected }) {
  const [[labelA, a], [labelB, b]] = Object.entries(samples);
  const [medianA, medianB] = [quantile(a, 0.5), quantile(b, 0.5)];
  console.log(name);
  for (const [label, values] of [
    [labelA, a],
    [labelB, b],
  ]) {
    const median = quantile(values, 0.5).toFixed(1).padStart(7);
    console.log(`  ${label.padEnd(20)} median ${median}   p90 ${quantile(values, 0.9).toFixed(1).padStart(7)}`);
  }
  const diff = medianA - medianB;
  console.log(`  difference of medians ${diff.toFixed(1)} ms (${((100 * diff) / medianB).toFixed(1)} %)`);
  if (unexpected.length) console.log(`  UNEXPECTED answers: ${unexpected.join(", ")}`);
}

let mf;
try {
  console.log("Building the Worker (wrangler deploy --dry-run)…");
  const options = workerOptions();
  ({ mf, url: baseUrl } = await startWorker({
    scriptPath: buildWorker({ outdir: OUTDIR }),
    path: "/health",
    ...options,
  }));
  const db = await mf.getD1Database("DB");
  await applyMigrations(db);
  await checkClientIpIsHonoured();

  console.log(`Creating ${4 * SAMPLES} accounts at BCRYPT_COST=${options.bindings.BCRYPT_COST}…`);
  const forLogin = await sequential(SAMPLES, register);
  const forForgot = await sequential(SAMPLES, register);
  const unverified = await sequential(SAMPLES, register);
  const verified = await sequential(SAMPLES, register);
  const verify = db.prepare("update users set email_verified_at = ?1 where id = ?2");
  await db.batch(verified.map((u) => verify.bind(new Date().toISOString(), u.id)));
  const unverifiedTokens = await sequential(SAMPLES, (i) => accessToken(unverified[i].email));
  const verifiedTokens = await sequential(SAMPLES, (i) => accessToken(verified[i].email));

  // Warm-up: the first unknown-email login computes the dummy hash once per isolate.
  await sequential(3, () => call("POST", "/login", { body: { email: unknownEmail(), password: WRONG_PASSWORD } }));
  await sequential(3, () => call("POST", "/forgot-password", { body: { email: unknownEmail() } }));

  const results = [
    await measurePair(
      "POST /login (wrong password → 401)",
      ["existing", (i) => call("POST", "/login", { body: { email: forLogin[i].email, password: WRONG_PASSWORD } })],
      ["unknown", () => call("POST", "/login", { body: { email: unknownEmail(), password: WRONG_PASSWORD } })],
      401,
    ),
    await measurePair(
      "POST /forgot-password (→ 200)",
      ["existing", (i) => call("POST", "/forgot-password", { body: { email: forForgot[i].email } })],
      ["unknown", () => call("POST", "/forgot-password", { body: { email: unknownEmail() } })],
      200,
    ),
    // Needs a bearer token, so there is no unknown account: these are the two states it can tell apart.
    await measurePair(
      "POST /resend-verification (→ 200)",
      ["unverified (mails)", (i) => call("POST", "/resend-verification", { token: unverifiedTokens[i] })],
      ["verified (no-op)", (i) => call("POST", "/resend-verification", { token: verifiedTokens[i] })],
      200,
    ),
  ];

  console.log(`\n${SAMPLES} requests per case, ms, measured by the client (workerd on this machine)\n`);
  for (const result of results) printPair(result);
} finally {
  await mf?.dispose();
  rmSync(OUTDIR, { recursive: true, force: true });
}
