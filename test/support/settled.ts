import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../../src/app";
import { type ApiResponse, buildRequest, type CallOptions, readResponse } from "./api";

/**
 * Like `api()`, but runs the Worker with its own ExecutionContext and waits
 * for everything it scheduled with `waitUntil` (the emails it sends and the
 * log lines about them). A test can then assert that nothing was mailed, or
 * read every log line a request produced, without sleeping. `bindings`
 * overrides vars for this one call, for settings the shared test config
 * cannot flip per test.
 */
export async function settled<T = any>(
  method: string,
  path: string,
  options: CallOptions & { bindings?: Record<string, unknown> } = {},
): Promise<ApiResponse<T>> {
  const ctx = createExecutionContext();
  const response = await app.fetch(buildRequest(method, path, options), { ...env, ...options.bindings }, ctx);
  const result = await readResponse<T>(response);
  await waitOnExecutionContext(ctx);
  return result;
}
