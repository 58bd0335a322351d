// One autocannon run per scenario, reduced to the numbers the report shows.
import autocannon from "autocannon";

export const LOAD = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 8),
  seconds: Number(process.env.BENCH_SECONDS ?? 6),
  warmupSeconds: 1,
};

/**
 * Drives `requests` (autocannon request objects) against `url` and returns
 * req/s, latency percentiles and the count of answers that were not the
 * expected status: a scenario that silently turned into 401s or 429s would
 * otherwise look fast.
 */
export async function drive(url, { requests, expectStatus = 200 }) {
  let unexpected = 0;
  const counted = requests.map((r) => ({
    ...r,
    onResponse: (status, body, context, headers) => {
      if (status !== expectStatus) unexpected++;
      r.onResponse?.(status, body, context, headers);
    },
  }));
  const result = await autocannon({
    url,
    connections: LOAD.connections,
    duration: LOAD.seconds,
    warmup: { connections: LOAD.connections, duration: LOAD.warmupSeconds },
    requests: counted,
  });
  return {
    // Total over duration rather than the mean of per-second samples: exact at 10 req/s too.
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    // Counted over warm-up and measurement alike; any at all is worth a look.
    unexpected: unexpected + result.errors + result.timeouts,
  };
}
