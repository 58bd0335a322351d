// `npm run bench:profile [-- scenario…]`: a V8 CPU profile of the Worker, on
// workerd through Miniflare (as `npm run bench` runs it), serving a few hundred
// requests of each scenario, summarised as self time by package and by function.
//
// The Worker is bundled by wrangler WITHOUT minification for this (names and
// esbuild's `// path/to/module.js` comments survive, so every sample maps to
// the module it ran in); BCRYPT_COST=4, so bcrypt does not drown the rest of a
// login. The profile comes from workerd's inspector (Miniflare's
// `inspectorPort`), through the DevTools protocol's Profiler domain over a
// WebSocket. Raw profiles are written to dist/bench/profile-*.cpuprofile (open
// them in Chrome DevTools, Performance tab, to see the call trees).
//
// Scenarios: posts-id, login, me, posts-list, startup (default: posts-id and login).
// PROFILE_REQUESTS overrides the request count (default 400), PROFILE_INTERVAL_US the
// sampling interval (default 100 µs).
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hash } from "bcrypt-ts";
import { unstable_readConfig } from "wrangler";
import { startWorker, workerOptions } from "./runtime.mjs";
import { login, PASSWORD } from "./scenarios.mjs";
import { applyMigrations, seed } from "./seed.mjs";

const BCRYPT_COST = 4;
const REQUESTS = Number(process.env.PROFILE_REQUESTS ?? 400);
const INTERVAL_US = Number(process.env.PROFILE_INTERVAL_US ?? 100);
const CONCURRENCY = 8;
const OUT = "dist/bench/profile";
const IP = { "CF-Connecting-IP": "203.0.113.7" };
const JSON_BODY = { ...IP, "Content-Type": "application/json" };
const config = unstable_readConfig({ config: "wrangler.toml" });

/** Bundles the Worker as deploy would, but readable: returns the script path. */
function buildUnminified() {
  const args = ["deploy", "--dry-run", "--outdir", OUT, "--minify=false"];
  const result = spawnSync("wrangler", args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  return `${OUT}/index.js`;
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** A minimal DevTools protocol client over Node's built-in WebSocket. */
async function devtools(wsUrl) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? reject(new Error(msg.error.message)) : resolve(msg.result);
    }
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        pending.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Runs `count` requests, `CONCURRENCY` at a time; fails on any unexpected status. */
async function drive(count, request) {
  let next = 0;
  let bad = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { url, init, expect = 200 } = request(i);
      const res = await fetch(url, init);
      await res.arrayBuffer();
      if (res.status !== expect) bad++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (bad) throw new Error(`${bad} of ${count} answers had an unexpected status`);
  return count / seconds;
}

/** Line number (0-based) → module path, from esbuild's `// path` comments in an unminified bundle. */
function moduleMap(script) {
  const marks = [];
  readFileSync(script, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const m = /^\/\/ ((?:node_modules|src|build|\.\.\/)[^\s]*\.[cm]?[jt]sx?)$/.exec(line);
      if (m) marks.push([i, m[1]]);
    });
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid][0] <= line) {
        found = marks[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** Module path → the package (or our folder) a reader cares about. */
function packageOf(module) {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)/.exec(module);
  if (nm) {
    const [, pkg, rest] = nm;
    if (pkg === "hono") {
      if (rest.includes("/jwt/") || rest.includes("/utils/jwt/")) return "hono (JWT verify/sign)";
      if (rest.includes("/router/")) return "hono (routing)";
      return "hono (core, context, middleware)";
    }
    if (pkg === "zod") return "zod (validation, schemas)";
    if (pkg === "drizzle-orm") return "drizzle-orm (query building, mapping)";
    return pkg;
  }
  if (module.startsWith("build/zod")) return "zod (validation, schemas)";
  if (module.startsWith("build/")) return `our build shims (${module})`;
  const src = /^src\/([^/]+)(?:\/([^/]+))?/.exec(module);
  if (src) return `our code: src/${src[1]}${src[2]?.includes(".") ? "" : `/${src[2] ?? ""}`}`.replace(/\/$/, "");
  return module;
}

/** Parts seen inside the bundle (its packages and our folders), filled by `summarise`. */
const bundleParts = new Set();

/** What a profile node is: a package (or our folder), V8 itself, or one of workerd's internal modules. */
function partOf(callFrame, moduleOf) {
  const name = callFrame.functionName;
  if (name === "(garbage collector)") return "V8: garbage collector";
  if (name === "(program)") return "V8/workerd native, outside JS (program)";
  if (!callFrame.url) return "V8 builtins / runtime natives";
  if (callFrame.url.endsWith("index.js")) return packageOf(moduleOf(callFrame.lineNumber));
  return `runtime's own JS: ${callFrame.url.replace(/:module$/, "")}`;
}

/**
 * Self time by part and by function (ms), from a V8 CPU profile. "Charged"
 * moves the self time of natives and workerd's own JS (JSON.stringify,
 * Response, fetch, the D1 binding's client) to the nearest caller in the
 * bundle, so a package is charged with what it asks the runtime to do.
 */
function summarise(profile, moduleOf) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const self = new Map();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i] / 1000);
  });
  const byPart = new Map();
  const charged = new Map();
  const byFunction = new Map();
  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  let total = 0;
  let idle = 0;
  let inBundle = 0;
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === "(idle)") {
      idle += ms;
      continue;
    }
    total += ms;
    const part = partOf(callFrame, moduleOf);
    add(byPart, part, ms);
    let owner = id;
    while (owner !== undefined && !byId.get(owner).callFrame.url.endsWith("index.js")) owner = parent.get(owner);
    const chargedTo = owner === undefined ? part : partOf(byId.get(owner).callFrame, moduleOf);
    add(charged, chargedTo, ms);
    if (owner !== undefined) {
      inBundle += ms;
      bundleParts.add(chargedTo);
    }
    const where = callFrame.url.endsWith("index.js") ? moduleOf(callFrame.lineNumber) : callFrame.url || "native";
    add(byFunction, `${callFrame.functionName || "(anonymous)"}  (${where.replace(/^node_modules\//, "")})`, ms);
  }
  return { total, idle, inBundle, byPart, charged, byFunction };
}

function printSummary(name, { total, idle, byPart, charged, byFunction }, requests, reqPerSec) {
  const perReq = (ms) => ((ms / requests) * 1000).toFixed(0);
  const pct = (ms) => `${((ms / total) * 100).toFixed(1)}%`;
  console.log(
    `\n### ${name}: ${requests} requests, ${reqPerSec.toFixed(0)} req/s while profiled; ` +
      `${total.toFixed(0)} ms busy in the Worker's isolate (${perReq(total)} µs per request), ${idle.toFixed(0)} ms idle\n`,
  );
  console.log("| part | self µs/req | self share | charged µs/req | charged share |\n|---|---:|---:|---:|---:|");
  const parts = new Set([...byPart.keys(), ...charged.keys()]);
  for (const part of [...parts].sort((a, b) => (charged.get(b) ?? 0) - (charged.get(a) ?? 0))) {
    const s = byPart.get(part) ?? 0;
    const c = charged.get(part) ?? 0;
    console.log(`| ${part} | ${perReq(s)} | ${pct(s)} | ${perReq(c)} | ${pct(c)} |`);
  }
  console.log("\n| top functions by self time | µs/req | share |\n|---|---:|---:|");
  for (const [fn, ms] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(`| ${fn} | ${perReq(ms)} | ${pct(ms)} |`);
}

const SCENARIOS = {
  "posts-id": (url, { token, hotPostId }) => ({
    name: "GET /posts/:id",
    request: () => ({
      url: `${url}/posts/${hotPostId}`,
      init: { headers: { ...IP, Authorization: `Bearer ${token}` } },
    }),
  }),
  me: (url, { token }) => ({
    name: "GET /me",
    request: () => ({ url: `${url}/me`, init: { headers: { ...IP, Authorization: `Bearer ${token}` } } }),
  }),
  "posts-list": (url, { token }) => ({
    name: "GET /posts?limit=20",
    request: () => ({ url: `${url}/posts?limit=20`, init: { headers: { ...IP, Authorization: `Bearer ${token}` } } }),
  }),
  login: (url) => ({
    name: `POST /login (bcrypt cost ${BCRYPT_COST})`,
    request: (i) => ({
      url: `${url}/login`,
      init: {
        method: "POST",
        headers: JSON_BODY,
        body: JSON.stringify({ email: `user${1000 + (i % 4000)}@example.com`, password: PASSWORD }),
      },
    }),
  }),
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ["posts-id", "login"];
for (const s of wanted)
  if (!SCENARIOS[s] && s !== "startup")
    throw new Error(`unknown scenario ${s}; one of startup,${Object.keys(SCENARIOS)}`);

mkdirSync(OUT, { recursive: true });
console.log("Bundling the Worker unminified (wrangler deploy --dry-run --minify=false)");
const script = buildUnminified();
const moduleOf = moduleMap(script);

/**
 * Startup: `wrangler check startup` samples the startup phase too coarsely for a breakdown
 * (a handful of samples), so the same unminified bundle is imported in Node under
 * `--cpu-prof` (50 µs sampling): module evaluation by package. Node's V8, not workerd's,
 * so read the shares.
 */
if (wanted.includes("startup")) {
  const dir = `${OUT}-startup`;
  rmSync(dir, { recursive: true, force: true });
  const importer = `const t = process.cpuUsage(); await import(${JSON.stringify(`${process.cwd()}/${script}`)});
    const u = process.cpuUsage(t); console.log(((u.user + u.system) / 1000).toFixed(0));`;
  const run = spawnSync(
    process.execPath,
    ["--cpu-prof", "--cpu-prof-interval", "50", "--cpu-prof-dir", dir, "--input-type=module", "-e", importer],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`importing the bundle in Node failed:\n${run.stderr}`);
  const file = readdirSync(dir).sort().at(-1);
  const profile = JSON.parse(readFileSync(`${dir}/${file}`, "utf8"));
  console.log(`\nStartup: import() of the bundle took ${run.stdout.trim()} ms of CPU in Node`);
  const { charged, inBundle } = summarise(profile, moduleOf);
  const compile = summarise(profile, moduleOf).byFunction;
  const compileMs = [...compile]
    .filter(([fn]) => fn.startsWith("compileSourceTextModule"))
    .reduce((a, [, ms]) => a + ms, 0);
  console.log(
    `Evaluating the bundle's modules: ${inBundle.toFixed(1)} ms sampled (plus ${compileMs.toFixed(1)} ms compiling ` +
      "the unminified script, which the minified one shortens)\n",
  );
  console.log("| part (module evaluation, charged) | ms | share |\n|---|---:|---:|");
  for (const [part, ms] of [...charged].filter(([p]) => bundleParts.has(p)).sort((a, b) => b[1] - a[1]))
    console.log(`| ${part} | ${ms.toFixed(1)} | ${((ms / inBundle) * 100).toFixed(1)}% |`);
  console.log(`\n(raw profile: ${dir}/${file})`);
  if (wanted.length === 1) process.exit(0);
  wanted.splice(wanted.indexOf("startup"), 1);
}

const inspectorPort = await freePort();
const app = await startWorker({
  scriptPath: script,
  path: "/health",
  inspectorPort,
  ...workerOptions(config, "profile", { BCRYPT_COST: String(BCRYPT_COST) }),
});
console.log("Seeding D1 (as npm run bench does)");
const db = await app.mf.getD1Database("DB");
await applyMigrations(db, config.d1_databases[0].migrations_dir);
const { hotPostId } = await seed(db, await hash(PASSWORD, BCRYPT_COST));
const { accessToken: token } = await login(app.url, "user42@example.com");

const targets = await fetch(`http://127.0.0.1:${inspectorPort}/json/list`).then((r) => r.json());
const targetNamed = (name) => targets.find((t) => (t.id ?? t.title) === name);
console.log(`Inspector targets: ${targets.map((t) => t.id ?? t.title).join(", ")}`);
// The Worker's isolate, and the isolate of Miniflare's D1 simulator (a Durable Object in the same
// workerd process, so on the same 2 cores): what one local D1 round trip costs on the other side.
const inspector = await devtools(targetNamed("core:user:").webSocketDebuggerUrl);
const d1 = targetNamed("d1:db") && (await devtools(targetNamed("d1:db").webSocketDebuggerUrl));
for (const session of [inspector, d1].filter(Boolean)) {
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
}

/** Busy time and top functions of the D1 simulator's isolate. */
function printD1(profile) {
  const self = new Map();
  let busy = 0;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id).callFrame;
    if (functionName === "(idle)") return;
    const ms = profile.timeDeltas[i] / 1000;
    busy += ms;
    const key = `${functionName || "(anonymous)"} (${url.split("/").pop() || "native"})`;
    self.set(key, (self.get(key) ?? 0) + ms);
  });
  console.log(
    `\nD1 simulator's isolate (d1:db) in the same run: ${((busy / REQUESTS) * 1000).toFixed(0)} µs busy per request\n`,
  );
  console.log("| D1 simulator, top functions by self time | µs/req |\n|---|---:|");
  for (const [fn, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 8))
    console.log(`| ${fn} | ${((ms / REQUESTS) * 1000).toFixed(0)} |`);
}

for (const key of wanted) {
  const { name, request } = SCENARIOS[key](app.url, { token, hotPostId });
  await drive(Math.min(100, REQUESTS), request); // warm-up: JIT, lazily built schemas
  await Promise.all([inspector.send("Profiler.start"), d1?.send("Profiler.start")]);
  const reqPerSec = await drive(REQUESTS, request);
  const [{ profile }, d1Profile] = await Promise.all([inspector.send("Profiler.stop"), d1?.send("Profiler.stop")]);
  const file = `${OUT}-${key}.cpuprofile`;
  writeFileSync(file, JSON.stringify(profile));
  printSummary(name, summarise(profile, moduleOf), REQUESTS, reqPerSec);
  if (d1Profile) {
    writeFileSync(`${OUT}-${key}-d1.cpuprofile`, JSON.stringify(d1Profile.profile));
    printD1(d1Profile.profile);
  }
  console.log(`\n(raw profiles: ${file}, ${OUT}-${key}-d1.cpuprofile)`);
}
inspector.close();
d1?.close();
await app.mf.dispose();
