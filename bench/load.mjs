// One autocannon run per scenario, reduced to the numbers the report shows.
import autocannon from "autocannon";

export const LOAD = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 8),
  seconds: Number(process.env.BENCH_SECONDS ?? 6),
  warmupSeconds: 1,
};

/** `d1;dur=…;desc="N queries, M statements, R rows read, W rows written"` → numbers, or undefined. */
function d1Cost(headers) {
  const name = Object.keys(headers).find((h) => h.toLowerCase() === "server-timing");
  const match = /desc="(\d+) quer(?:y|ies), (\d+) statements?, (\d+) rows read, (\d+) rows written"/.exec(
    name ? String(headers[name]) : "",
  );
  return match && { trips: Number(match[1]), read: Number(match[3]), written: Number(match[4]) };
}

/**
 * Drives `requests` (autocannon request objects) against `url` and returns
 * req/s, latency percentiles and the count of answers that were not the
 * expected status: a scenario that silently turned into 401s or 429s would
 * otherwise look fast. D1 round trips and rows per request are averaged from
 * the `Server-Timing` of every expected answer (the Worker runs with
 * `SERVER_TIMING_ROWS=all`).
 */
export async function drive(url, { requests, expectStatus = 200 }) {
  let unexpected = 0;
  const d1 = { answers: 0, trips: 0, read: 0, written: 0 };
  const counted = requests.map((r) => ({
    ...r,
    onResponse: (status, body, context, headers) => {
      if (status !== expectStatus) unexpected++;
      const cost = status === expectStatus && d1Cost(headers ?? {});
      if (cost) {
        d1.answers++;
        d1.trips += cost.trips;
        d1.read += cost.read;
        d1.written += cost.written;
      }
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
    d1: d1.answers
      ? { trips: d1.trips / d1.answers, rowsRead: d1.read / d1.answers, rowsWritten: d1.written / d1.answers }
      : undefined,
  };
}
