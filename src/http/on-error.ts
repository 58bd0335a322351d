import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";
import { failureBody } from "./envelope";
import { AppError } from "./errors";
import { logEvent } from "./log";

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // The session check of the request's first query (db/gate.ts) fails inside Drizzle, which wraps what it throws.
  if (err instanceof Error && err.cause instanceof AppError) return err.cause;
  if (err instanceof HTTPException) {
    const headers = Object.fromEntries(err.getResponse().headers);
    delete headers["content-type"];
    if (err.status === 401) return new AppError(401, "UNAUTHORIZED", "Authentication required", undefined, headers);
    if (err.status === 413) return new AppError(413, "PAYLOAD_TOO_LARGE", "Request body too large");
    if (err.status === 400) return new AppError(400, "INVALID_JSON", "Request body is not valid JSON");
    if (err.status === 404) return new AppError(404, "NOT_FOUND", "Not found");
    if (err.status === 415) return new AppError(415, "UNSUPPORTED_MEDIA_TYPE", "Request body must be application/json");
  }
  return new AppError(500, "INTERNAL_ERROR", "Something went wrong");
}

/**
 * Drizzle's "Failed query" message ends with the bound parameters: emails,
 * password hashes, token hashes. The log keeps the SQL and D1's own reason only.
 */
function describeForLog(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = err.message.split("\nparams:")[0];
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return `${err.name}: ${message}${cause}`;
}

/** The single place an error becomes a response. A 500 is logged with the request id and never echoed. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const error = toAppError(err);
  if (error.status >= 500 && error.code === "INTERNAL_ERROR") {
    logEvent("error", {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      error: describeForLog(err),
    });
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  return c.json(failureBody(error), error.status);
};

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  c.json(failureBody(new AppError(404, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`)), 404);
