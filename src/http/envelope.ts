import type { Context, TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { AppError } from "./errors";

export type PageMeta = { page: number; limit: number; total: number; totalPages: number; nextCursor: string | null };

type Success<T, S extends ContentfulStatusCode> = { status: "success"; statusCode: S; message: string; data: T };
type Empty = Record<string, never>;
type JSONRespondReturn<T, S extends ContentfulStatusCode> = Response & TypedResponse<JSONParsed<T>, S, "json">;

/**
 * The success envelope. Lists put the items in `data` and pagination in `meta`.
 * Typed by its status and by whether `meta` is there, so a route declared with
 * `createRoute` accepts only the envelope its responses describe.
 */
export function ok<const T = Empty, S extends ContentfulStatusCode = 200>(
  c: Context,
  message: string,
  data: T,
  options: { status?: S; meta: PageMeta },
): JSONRespondReturn<Success<NoInfer<T>, NoInfer<S>> & { meta: PageMeta }, NoInfer<S>>;
export function ok<const T = Empty, S extends ContentfulStatusCode = 200>(
  c: Context,
  message: string,
  data?: T,
  options?: { status?: S },
): JSONRespondReturn<Success<NoInfer<T>, NoInfer<S>>, NoInfer<S>>;
export function ok(
  c: Context,
  message: string,
  data?: unknown,
  options: { status?: ContentfulStatusCode; meta?: PageMeta } = {},
): Response {
  const status = options.status ?? 200;
  return c.json(
    {
      status: "success" as const,
      statusCode: status,
      message,
      data: data ?? {},
      ...(options.meta ? { meta: options.meta } : {}),
    },
    status,
  );
}

export function pageMeta(page: number, limit: number, total: number, nextCursor: string | null): PageMeta {
  return { page, limit, total, totalPages: Math.ceil(total / limit), nextCursor };
}

/** A failure names at most this many problems, so a small body with thousands of unknown keys gets a small answer. */
export const MAX_ERROR_DETAILS = 20;

export function failureBody(error: AppError) {
  const details = error.details;
  return {
    status: "failed" as const,
    statusCode: error.status,
    message: error.message,
    error: {
      code: error.code,
      ...(details ? { details: details.slice(0, MAX_ERROR_DETAILS) } : {}),
      ...(details && details.length > MAX_ERROR_DETAILS ? { detailsTotal: details.length } : {}),
    },
  };
}
