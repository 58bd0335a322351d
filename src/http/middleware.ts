import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { loadConfig } from "../env";
import { AppError } from "./errors";
import { logEvent } from "./log";

export const MAX_BODY_BYTES = 64 * 1024;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echoes a client's request id when it is safe to log and reflect, otherwise makes one. */
export const requestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const incoming = c.req.header("X-Request-Id");
  const id = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", id);
  c.header("X-Request-Id", id);
  await next();
};

/** Refuses to serve at all when a required secret is missing or weak, naming it but never its value. */
export const requireConfig: MiddlewareHandler<AppEnv> = async (c, next) => {
  const result = loadConfig(c.env);
  if (!result.ok) throw new AppError(503, "MISCONFIGURED", `Server misconfigured: ${result.problem}`);
  c.set("config", result.config);
  await next();
};

/**
 * No body: validators see `{}` whatever the Content-Type said (some clients
 * always send one). The request is replaced by one without body or
 * Content-Type, so the route's media-type gate has nothing to refuse.
 */
const withoutBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const headers = new Headers(c.req.raw.headers);
  headers.delete("content-type");
  headers.delete("content-length");
  c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers });
  c.req.bodyCache.json = Promise.resolve({});
  await next();
};

/**
 * Reads and parses a JSON body once, before any validator: a body must be
 * `application/json`, at most 64 KiB, and parseable. A zero-byte body is no
 * body, whatever its `Content-Type`. Hono caches the parsed value, so
 * `validate("json", …)` reuses it.
 */
export const jsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const headers = c.req.raw.headers;
  const length = headers.get("content-length");
  if (!c.req.raw.body || (length !== null && Number(length) === 0)) return withoutBody(c, next);
  if (Number(length) > MAX_BODY_BYTES) throw payloadTooLarge();
  const mediaType = headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  const isJson = mediaType === "application/json";
  // A declared length is not zero here, so a wrong type is refused unread; a body of unknown length is read first.
  if (!isJson && length !== null) throw unsupportedMediaType();
  const text = await readLimited(c.req.raw);
  if (text === "") return withoutBody(c, next);
  if (!isJson) throw unsupportedMediaType();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError(400, "INVALID_JSON", "Request body is not valid JSON");
  }
  c.req.bodyCache.json = Promise.resolve(value);
  await next();
};

const unsupportedMediaType = () => new AppError(415, "UNSUPPORTED_MEDIA_TYPE", "Request body must be application/json");
const payloadTooLarge = () => new AppError(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${MAX_BODY_BYTES} bytes`);

/** Streams the body and stops at the limit, so a lying or absent Content-Length cannot bypass it. */
async function readLimited(request: Request): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw payloadTooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * One JSON log line per request. Only the path is logged, never the query
 * string: GET /reset-password?token=… carries a secret there.
 */
export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = Date.now();
  await next();
  logEvent("info", {
    requestId: c.get("requestId"),
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    durationMs: Date.now() - started,
    userId: c.get("user")?.id,
    ...c.get("passwordCheck"),
  });
};
