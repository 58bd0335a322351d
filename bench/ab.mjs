// `npm run bench:ab`: A/B runs of what `GET /posts/:id` is made of, in one
// process, one Worker bundle (bench/ab-worker.ts: the real app plus `/ab/…`
// variants that add one layer at a time) and one seeded D1, interleaved:
// every round runs every variant once, in a rotated order, and the table shows
// the median req/s over the rounds, so drift in the machine's load hits every
// variant alike. Ratios are to the hello+D1 reference measured in the same rounds.
//
// AB_ROUNDS (default 5), AB_SECONDS per variant and round (default 2), BENCH_CONNECTIONS (8).
import { cpus, loadavg } from "node:os";
import autocannon from "autocannon";
import { hash } from "bcrypt-ts";
import { unstable_readConfig } from "wrangler";
import { buildWorker, gzippedKiB } from "../scripts/bundle-size.mjs";
import { startWorker, workerOptions } from "./runtime.mjs";
import { PASSWORD } from "./scenarios.mjs";
import { applyMigrations, seed } from "./seed.mjs";

const ROUNDS = Number(process.env.AB_ROUNDS ?? 5);
const SECONDS = Number(process.env.AB_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const IP = { "CF-Connecting-IP": "203.0.113.7" };
const config = unstable_readConfig({ config: "wrangler.toml" });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log("Building bench/ab-worker.ts (the app plus the /ab variants) with wrangler, minified as deployed");
const script = buildWorker({ outdir: "dist/bench/ab", entry: "bench/ab-worker.ts", name: "bench-ab" });
console.log(`  ${gzippedKiB(script).toFixed(1)} KiB gzipped`);

const app = await startWorker({
  scriptPath: script,
  path: "/health",
  ...workerOptions(config, "ab", { BCRYPT_COST: "4" }),
});
console.log("Seeding D1 (as npm run bench does)");
const db = await app.mf.getD1Database("DB");
await applyMigrations(db, config.d1_databases[0].migrations_dir);
const { hotPostId } = await seed(db, await hash(PASSWORD, 4));
const loginRes = await fetch(`${app.url}/login`, {
  method: "POST",
  headers: { ...IP, "Content-Type": "application/json" },
  body: JSON.stringify({ email: "user42@example.com", password: PASSWORD }),
});
const token = (await loginRes.json()).data.accessToken;
const auth = { ...IP, Authorization: `Bearer ${token}` };

/** Variant name → path; each answers 200 with the hot post (or the reference's `select 1`). */
const VARIANTS = [
  ["hello+D1 reference (select 1)", "/ab/d1"],
  ["hello+D1 through the D1 Sessions API", "/ab/d1-session"],
  ["A  post, raw prepared statement", `/ab/raw/${hotPostId}`],
  ["B  A through the D1 Sessions API", `/ab/raw-session/${hotPostId}`],
  ["C  A + zod param validation", `/ab/zod/${hotPostId}`],
  ["D  A + JWT verify", `/ab/jwt/${hotPostId}`],
  ["E  A built and mapped by Drizzle", `/ab/drizzle/${hotPostId}`],
  ["F  D + session check in the batch", `/ab/batch/${hotPostId}`],
  ["G  minimal route, no Sessions API: F + zod", `/ab/minimal-plain/${hotPostId}`],
  ["H  minimal route: G through the Sessions API", `/ab/minimal/${hotPostId}`],
  ["app GET /posts/:id", `/posts/${hotPostId}`],
  ["app GET /me", "/me"],
];

async function run(path) {
  let unexpected = 0;
  const result = await autocannon({
    url: app.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [{ method: "GET", path, headers: auth, onResponse: (status) => status !== 200 && unexpected++ }],
  });
  if (unexpected || result.errors)
    throw new Error(`${path}: ${unexpected} unexpected answers, ${result.errors} errors`);
  return result.requests.total / result.duration;
}

console.log(`Warm-up, then ${ROUNDS} interleaved rounds of ${SECONDS} s per variant, ${CONNECTIONS} connections`);
const loadBefore = loadavg();
for (const [, path] of VARIANTS) await run(path);
const rates = VARIANTS.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < VARIANTS.length; k++) {
    const i = (k + round) % VARIANTS.length; // rotated order
    rates[i].push(await run(VARIANTS[i][1]));
  }
  process.stdout.write(`  round ${round + 1}/${ROUNDS} done\n`);
}

// Login beside bcrypt, step by step. Inside workerd `performance.now()` only moves on I/O, so
// the steps are timed from Node, one request at a time, interleaved, median of the rounds.
const LOGIN_ROUNDS = Number(process.env.AB_LOGIN_ROUNDS ?? 60);
console.log(`\nLogin steps: ${LOGIN_ROUNDS} interleaved rounds, one request at a time`);
async function timed(path, init) {
  const started = performance.now();
  const res = await fetch(`${app.url}${path}`, { ...init, headers: { ...IP, ...init?.headers } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
  const d1 = /d1;dur=([\d.]+)/.exec(res.headers.get("Server-Timing") ?? "");
  return { ms: performance.now() - started, d1Ms: d1 ? Number(d1[1]) : undefined };
}
const steps = {
  d1: [],
  d1Session: [],
  reserve: [],
  reserveD1: [],
  bcrypt: [],
  login: [],
  loginD1: [],
  batchD1: [],
  overhead: [],
};
for (let i = 0; i < LOGIN_ROUNDS + 3; i++) {
  const d1 = await timed("/ab/d1");
  const d1Session = await timed("/ab/d1-session");
  const reserve = await timed(`/ab/reserve?email=user${6001 + i}@example.com`);
  const bcrypt = await timed(`/ab/bcrypt?password=${PASSWORD}`);
  const login = await timed("/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: `user${5001 + i}@example.com`, password: PASSWORD }),
  });
  if (i < 3) continue; // warm-up
  steps.d1.push(d1.ms);
  steps.d1Session.push(d1Session.ms);
  steps.reserve.push(reserve.ms);
  steps.reserveD1.push(reserve.d1Ms ?? Number.NaN);
  steps.batchD1.push((login.d1Ms ?? Number.NaN) - (reserve.d1Ms ?? Number.NaN));
  steps.bcrypt.push(bcrypt.ms);
  steps.login.push(login.ms);
  steps.loginD1.push(login.d1Ms ?? Number.NaN);
  steps.overhead.push(login.ms - bcrypt.ms);
}
await app.mf.dispose();

const reference = median(rates[0]);
console.log(
  `\n${cpus().length} × ${cpus()[0]?.model}; load average ${loadBefore[0].toFixed(1)} before, ${loadavg()[0].toFixed(1)} after\n`,
);
console.log("| variant | req/s (median) | min–max | of hello+D1 |\n|---|---:|---:|---:|");
VARIANTS.forEach(([name], i) => {
  const m = median(rates[i]);
  const lo = Math.min(...rates[i]).toFixed(0);
  const hi = Math.max(...rates[i]).toFixed(0);
  console.log(`| ${name} | ${m.toFixed(0)} | ${lo}–${hi} | ${((m / reference) * 100).toFixed(0)}% |`);
});

console.log(`\nLogin at BCRYPT_COST=4, medians of ${LOGIN_ROUNDS} interleaved rounds (ms, wall time seen from Node)\n`);
console.log("| step | ms |\n|---|---:|");
const row = (name, values) => console.log(`| ${name} | ${median(values).toFixed(2)} |`);
row("hello+D1 request (select 1)", steps.d1);
row("hello+D1 through the Sessions API", steps.d1Session);
row("lockout reservation alone (reserveAttempt, 1 round trip, Sessions API)", steps.reserve);
row("  of which D1 wall time (the round trip, timed in the Worker)", steps.reserveD1);
row("bcrypt compare alone (cost 4)", steps.bcrypt);
row("POST /login", steps.login);
row("  of which D1 wall time (Server-Timing, 2 round trips)", steps.loginD1);
row("  the conditional sign-in batch: login's D1 time minus the reservation's (paired)", steps.batchD1);
row("POST /login minus bcrypt (median of paired differences)", steps.overhead);
