import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../../src/app";
import type { ApiResponse, CallOptions } from "./api";
import { randomIp } from "./api";

/**
 * Like `api()`, but runs the Worker with its own ExecutionContext and waits
 * for everything it scheduled with `waitUntil` (the emails it sends and the
 * log lines about them). A test can then assert that nothing was mailed, or
 * read every log line a request produced, without sleeping.
 */
export async function settled<T = any>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (!headers.has("CF-Connecting-IP")) headers.set("CF-Connecting-IP", options.ip ?? randomIp());
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body = options.rawBody;
  if (body === undefined && options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`https://api.test${path}`, { method, headers, body }), env, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // HTML pages and empty bodies stay text.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}
