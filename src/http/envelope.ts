import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppError } from "./errors";

export type PageMeta = { page: number; limit: number; total: number; totalPages: number };

/** The success envelope. Lists put the items in `data` and pagination in `meta`. */
export function ok<T>(
  c: Context,
  message: string,
  data?: T,
  options: { status?: ContentfulStatusCode; meta?: PageMeta } = {},
) {
  const status = options.status ?? 200;
  return c.json(
    {
      status: "success" as const,
      statusCode: status,
      message,
      data: (data ?? {}) as T,
      ...(options.meta ? { meta: options.meta } : {}),
    },
    status,
  );
}

export function pageMeta(page: number, limit: number, total: number): PageMeta {
  return { page, limit, total, totalPages: Math.ceil(total / limit) };
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
