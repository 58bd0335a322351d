// What POST /login costs beside its bcrypt compare, measured in pairs: one
// login, then one bare compare on the reference Worker, one at a time, many
// times. Taking the median of the paired differences cancels the drift of a
// shared machine that separate runs would fold into a few-millisecond answer.
import { performance } from "node:perf_hooks";

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function timed(url, init) {
  const started = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url} answered ${res.status}`);
  return performance.now() - started;
}

export async function pairedLoginOverhead({ appUrl, referenceUrl, headers, body, pairs = 40 }) {
  const logins = [];
  const compares = [];
  for (let i = 0; i < pairs + 2; i++) {
    const login = await timed(`${appUrl}/login`, { method: "POST", headers, body: body(i) });
    const compare = await timed(`${referenceUrl}/bcrypt`);
    // The first pairs warm both Workers up.
    if (i >= 2) {
      logins.push(login);
      compares.push(compare);
    }
  }
  return {
    pairs,
    loginP50Ms: median(logins),
    compareP50Ms: median(compares),
    overheadMs: median(logins.map((ms, i) => ms - compares[i])),
  };
}
