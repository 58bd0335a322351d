// Runs a bundled Worker on workerd through Miniflare's API: no wrangler dev
// proxy, no request logging, and a direct socket to the Worker so requests do
// not pass through Miniflare's own entry Worker either.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

/**
 * The Worker's own bindings from wrangler.toml for a measuring run: D1 and KV
 * under `prefix`, rate limits lifted (one client hammers one account), mail to
 * the console, a fresh JWT secret, and row counts reported for every request.
 */
export function workerOptions(config, prefix, bindings = {}) {
  return {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    d1Databases: Object.fromEntries(config.d1_databases.map((d) => [d.binding, `${prefix}-${d.binding}`])),
    kvNamespaces: Object.fromEntries(config.kv_namespaces.map((k) => [k.binding, `${prefix}-${k.binding}`])),
    ratelimits: Object.fromEntries(
      config.ratelimits.map((r) => [r.name, { namespace_id: r.namespace_id, simple: { limit: 1e9, period: 60 } }]),
    ),
    bindings: {
      ...config.vars,
      JWT_SECRET: randomBytes(32).toString("hex"),
      MAIL_PROVIDER: "console", // production's "resend" needs a key; the bench sends no mail
      SERVER_TIMING_ROWS: "all",
      ...bindings,
    },
  };
}

/** Starts the Worker and waits for its first answer to `path`. */
export async function startWorker({ scriptPath, path = "/", ...workerOptions }) {
  const started = performance.now();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      scriptPath,
      logRequests: false,
      handleStructuredLogs: () => {},
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      ...workerOptions,
    }),
  );
  await mf.ready;
  const url = await mf.unsafeGetDirectURL();
  const first = await fetch(new URL(path, url));
  await first.arrayBuffer();
  return { mf, url: url.origin, firstStatus: first.status, startupMs: performance.now() - started };
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Median over `runs` cold starts of the time from launching workerd to the Worker's first response. */
export async function coldStartMs(options, runs = 3) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { mf, startupMs } = await startWorker(options);
    times.push(startupMs);
    await mf.dispose();
  }
  return median(times);
}

/**
 * CPU time of the Worker's startup phase (evaluating the script), from the
 * profile `wrangler check startup` records: the figure Cloudflare limits at
 * deploy. Sampled, so short startups read coarsely; median of `runs`.
 */
export function startupCpuMs(deployArgs, outfile, runs = 3) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const args = ["check", "startup", "--outfile", outfile, ...(deployArgs ? ["--args", deployArgs] : [])];
    const result = spawnSync("wrangler", args, { encoding: "utf8", shell: process.platform === "win32" });
    if (result.status !== 0) throw new Error(`wrangler check startup failed:\n${result.stdout}${result.stderr}`);
    const profile = JSON.parse(readFileSync(outfile, "utf8"));
    const idle = new Set(
      profile.nodes.filter((n) => ["(idle)", "(program)"].includes(n.callFrame.functionName)).map((n) => n.id),
    );
    times.push(profile.samples.reduce((ms, id, i) => ms + (idle.has(id) ? 0 : profile.timeDeltas[i] / 1000), 0));
  }
  return median(times);
}
