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

export function failureBody(error: AppError) {
  return {
    status: "failed" as const,
    statusCode: error.status,
    message: error.message,
    error: { code: error.code, ...(error.details ? { details: error.details } : {}) },
  };
}
