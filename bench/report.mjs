// Prints the bench table and writes it, with the machine it ran on, as JSON.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";
import { LOAD } from "./load.mjs";

const machine = () => ({
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
  miniflare: JSON.parse(readFileSync("node_modules/miniflare/package.json", "utf8")).version,
});

const find = (rows, prefix) => rows.find((s) => s.name.startsWith(prefix));

/** The numbers the issue states its targets in (login overhead: see login-overhead.mjs). */
function derived({ references, scenarios, login }) {
  const [ceiling, withD1] = references;
  const first = find(scenarios, "GET /posts?limit=20 (page 1)");
  const far = find(scenarios, "GET /posts?limit=20 (page 500");
  const me = find(scenarios, "GET /me");
  const ofD1 = (prefix) => {
    const s = find(scenarios, prefix);
    return s && s.requestsPerSecond / withD1.requestsPerSecond;
  };
  return {
    targets: {
      "GET /me (>= 80% of hello+D1)": ofD1("GET /me"),
      "GET /posts/:id (>= 80%)": ofD1("GET /posts/:id"),
      "GET /posts page 1 (>= 60%)": ofD1("GET /posts?limit=20 (page 1)"),
      "GET /posts/:id/comments (>= 60%)": ofD1("GET /posts/:id/comments"),
      "GET /users?q= (>= 60%)": ofD1("GET /users?q="),
    },
    meOfCeiling: me && me.requestsPerSecond / ceiling.requestsPerSecond,
    meOfCeilingWithD1: me && me.requestsPerSecond / withD1.requestsPerSecond,
    loginOverheadMs: login.overheadMs,
    page500TimeVsPage1: first && far ? first.requestsPerSecond / far.requestsPerSecond : undefined,
  };
}

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits));
const pct = (n) => `${fmt(100 * n)}%`;

export function printReport(report) {
  const [ceiling, withD1] = report.references;
  const rows = [...report.references, ...report.scenarios].map((s) => [
    s.name,
    fmt(s.requestsPerSecond),
    fmt(s.p50Ms, 1),
    fmt(s.p99Ms, 1),
    pct(s.requestsPerSecond / ceiling.requestsPerSecond),
    pct(s.requestsPerSecond / withD1.requestsPerSecond),
    s.d1 ? fmt(s.d1.trips, 1) : "-",
    s.d1 ? fmt(s.d1.rowsRead, 1) : "-",
    s.d1 ? fmt(s.d1.rowsWritten, 1) : "-",
    s.unexpected ? `${s.unexpected} unexpected` : "",
  ]);
  const header = [
    "scenario",
    "req/s",
    "p50 ms",
    "p99 ms",
    "of ceiling",
    "of hello+D1",
    "D1 trips",
    "rows read",
    "rows written",
    "",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const text = (i) => i === 0 || i === header.length - 1;
  const line = (cells) =>
    `| ${cells.map((c, i) => (text(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (text(i) ? `-${"-".repeat(w)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  console.log(`\n${[line(header), rule, ...rows.map(line)].join("\n")}`);

  const d = derived(report);
  const m = machine();
  const { node } = report.bcrypt;
  const { login } = report;
  const { app, reference } = report.startup;
  console.log(`
Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; workerd from miniflare ${m.miniflare}
Load: autocannon, ${LOAD.connections} connections, ${LOAD.warmupSeconds} s warm-up + ${LOAD.seconds} s per scenario
Data: ${report.seed.users} users, ${report.seed.posts} posts, ${report.seed.comments} comments (seeded in ${fmt(report.seed.seconds, 1)} s)
Bundle: ${fmt(report.bundle.gzipKiB, 1)} KiB gzipped (reference Worker: ${fmt(report.bundle.helloGzipKiB, 1)} KiB)
Startup: ${fmt(app.cpuMs)} ms CPU evaluating the script (reference: ${fmt(reference.cpuMs)} ms); cold start, workerd launch to first response: ${fmt(app.coldStartMs)} ms (reference: ${fmt(reference.coldStartMs)} ms)
GET /me: ${pct(d.meOfCeiling)} of the hello-world ceiling, ${pct(d.meOfCeilingWithD1)} of hello-world + 1 D1 query
bcrypt-ts compare, cost ${report.bcrypt.cost}: ${fmt(node.msPerCompare, 1)} ms in Node, ${fmt(login.compareP50Ms, 1)} ms in workerd (p50, one at a time)
Login: ${fmt(login.loginP50Ms, 1)} ms (p50, one at a time), ${fmt(d.loginOverheadMs, 1)} ms beside the bcrypt compare (median of ${login.pairs} paired differences)
Page 500 vs page 1 of GET /posts: ${fmt(d.page500TimeVsPage1, 2)}x the time per request
Targets (issue 15), of hello-world + 1 D1 query: ${Object.entries(d.targets)
    .map(([name, ratio]) => `${name} ${pct(ratio)}`)
    .join("; ")}; login overhead (< 5 ms) ${fmt(d.loginOverheadMs, 1)} ms`);
}

export function writeReport(report) {
  const file = "bench/results/latest.json";
  mkdirSync("bench/results", { recursive: true });
  const full = { measuredAt: new Date().toISOString(), machine: machine(), load: LOAD, ...report, ...derived(report) };
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}
