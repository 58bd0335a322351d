import type { ApiResponse } from "./api";

/**
 * Parses the Worker's `Server-Timing` entry
 * `d1;dur=…;desc="N queries, M statements[, R rows read, W rows written]"`
 * (queries are round trips; the row counts are there for signed-in callers).
 */
export function d1Timing(res: ApiResponse) {
  const header = res.headers.get("Server-Timing") ?? "";
  const match =
    /(?:^|,\s*)d1;dur=(\d+(?:\.\d+)?);desc="(\d+) quer(?:y|ies), (\d+) statements?(?:, (\d+) rows read, (\d+) rows written)?"/.exec(
      header,
    );
  if (!match) throw new Error(`no d1 Server-Timing entry in ${JSON.stringify(header)}`);
  const rows = match[4] === undefined ? undefined : { read: Number(match[4]), written: Number(match[5]) };
  return { durationMs: Number(match[1]), queries: Number(match[2]), statements: Number(match[3]), rows };
}

/** Round trips and statements of a response (queries are round trips). */
export function d1Usage(res: ApiResponse) {
  const { queries, statements } = d1Timing(res);
  return { queries, statements };
}

/** D1 rows read and written by a response; fails when the Worker did not report them. */
export function d1Rows(res: ApiResponse) {
  const { rows } = d1Timing(res);
  if (!rows) throw new Error(`no row counts in ${JSON.stringify(res.headers.get("Server-Timing"))}`);
  return rows;
}
