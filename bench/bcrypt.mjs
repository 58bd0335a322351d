// The raw bcrypt-ts compare rate in Node at a given cost: the floor under
// POST /login, which compares one hash per request by design.
import { performance } from "node:perf_hooks";
import { compare } from "bcrypt-ts";

export async function bcryptCompareRate(password, passwordHash, seconds = 3) {
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    if (!(await compare(password, passwordHash))) throw new Error("bcrypt compare failed");
    n++;
  }
  const ms = (performance.now() - started) / n;
  return { comparesPerSecond: 1000 / ms, msPerCompare: ms };
}
