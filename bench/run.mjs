// `npm run bench`: the Worker and a hello-world Hono Worker, bundled by
// wrangler and run on workerd through Miniflare, loaded by autocannon one
// scenario after the other on the same machine in the same run.
import { performance } from "node:perf_hooks";
import { hash } from "bcrypt-ts";
import { unstable_readConfig } from "wrangler";
import { buildWorker, gzippedKiB } from "../scripts/bundle-size.mjs";
import { bcryptCompareRate } from "./bcrypt.mjs";
import { drive, LOAD } from "./load.mjs";
import { pairedLoginOverhead } from "./login-overhead.mjs";
import { printReport, writeReport } from "./report.mjs";
import { coldStartMs, startupCpuMs, startWorker, workerOptions } from "./runtime.mjs";
import { appScenarios, loginProbe, PASSWORD, referenceScenarios } from "./scenarios.mjs";
import { applyMigrations, SIZES, seed } from "./seed.mjs";

const BCRYPT_COST = 10;
const config = unstable_readConfig({ config: "wrangler.toml" });

/**
 * The Worker's own bindings, except that rate limits are lifted (the bench is
 * one client hammering one account) and row counts are reported everywhere.
 */
const appOptions = () =>
  workerOptions(config, "bench", {
    BCRYPT_COST: String(BCRYPT_COST),
    // POST /posts writes thousands of posts with one account; the per-account cap would answer 409 past 1000.
    MAX_POSTS_PER_USER: "1000000",
  });

const step = (what) => console.log(`\n${what}`);

async function measure(name, url, scenario) {
  process.stdout.write(`  ${name} … `);
  const result = await drive(url, scenario);
  console.log(`${Math.round(result.requestsPerSecond)} req/s`);
  return { name, ...result };
}

step("Building both Workers with wrangler (deploy --dry-run)");
const appScript = buildWorker({ outdir: "dist/bench/app" });
const helloScript = buildWorker({ outdir: "dist/bench/hello", entry: "bench/hello.ts", name: "bench-hello" });
const bundle = { gzipKiB: gzippedKiB(appScript), helloGzipKiB: gzippedKiB(helloScript) };

step(`bcrypt-ts in Node at cost ${BCRYPT_COST} (one hash for every seeded user, then compares for 3 s)`);
const passwordHash = await hash(PASSWORD, BCRYPT_COST);
const bcrypt = await bcryptCompareRate(PASSWORD, passwordHash);
console.log(`  ${bcrypt.msPerCompare.toFixed(1)} ms per compare`);

step("Startup: script evaluation CPU (wrangler check startup) and cold start to first response");
const referenceOptions = (storedHash) => ({
  scriptPath: helloScript,
  compatibilityDate: config.compatibility_date,
  d1Databases: { DB: "bench-reference" },
  bindings: { BENCH_PASSWORD: PASSWORD, BENCH_PASSWORD_HASH: storedHash },
});
const startup = {
  app: {
    cpuMs: startupCpuMs(undefined, "dist/bench/app.cpuprofile"),
    coldStartMs: await coldStartMs({ scriptPath: appScript, path: "/health", ...appOptions() }),
  },
  reference: {
    cpuMs: startupCpuMs("bench/hello.ts --name bench-hello", "dist/bench/hello.cpuprofile"),
    coldStartMs: await coldStartMs(referenceOptions("")),
  },
};
console.log(`  Worker: ${startup.app.cpuMs.toFixed(0)} ms CPU, ${startup.app.coldStartMs.toFixed(0)} ms cold start`);

step(`References on the same runtime (${LOAD.connections} connections, ${LOAD.seconds} s per scenario)`);
const hello = await startWorker(referenceOptions(passwordHash));
const references = [];
for (const [name, scenario] of referenceScenarios(BCRYPT_COST))
  references.push(await measure(name, hello.url, scenario));

step("Starting the Worker and seeding D1");
const app = await startWorker({ scriptPath: appScript, path: "/health", ...appOptions() });
if (app.firstStatus !== 200) throw new Error(`GET /health answered ${app.firstStatus}`);
const db = await app.mf.getD1Database("DB");
const seedStarted = performance.now();
await applyMigrations(db, config.d1_databases[0].migrations_dir);
const { hotPostId } = await seed(db, passwordHash);
const seedSeconds = (performance.now() - seedStarted) / 1000;
console.log(`  seeded in ${seedSeconds.toFixed(1)} s`);

step("Scenarios");
const scenarios = [];
for (const [name, scenario] of await appScenarios(app.url, { hotPostId, connections: LOAD.connections })) {
  scenarios.push(await measure(name, app.url, scenario));
}

step("Login beside bcrypt: a login, then a bare compare on the reference Worker, one at a time, 40 pairs");
const login = await pairedLoginOverhead({ appUrl: app.url, referenceUrl: hello.url, ...loginProbe });
await Promise.all([app.mf.dispose(), hello.mf.dispose()]);

const report = {
  bundle,
  startup,
  seed: { ...SIZES, seconds: seedSeconds },
  bcrypt: { cost: BCRYPT_COST, node: bcrypt },
  login,
  references,
  scenarios,
};
printReport(report);
console.log(`\nWrote ${writeReport(report)}`);
