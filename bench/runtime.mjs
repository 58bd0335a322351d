// Runs a bundled Worker on workerd through Miniflare's API: no wrangler dev
// proxy, no request logging, and a direct socket to the Worker so requests do
// not pass through Miniflare's own entry Worker either.
import { performance } from "node:perf_hooks";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

/**
 * Starts the Worker and waits for its first answer. `startupMs` covers
 * workerd's launch plus the Worker's script evaluation and first request, so
 * comparing it with the hello-world Worker's shows what our code adds.
 */
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
  const startupMs = performance.now() - started;
  return { mf, url: url.origin, startupMs, firstStatus: first.status };
}
