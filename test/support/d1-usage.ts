import type { ApiResponse } from "./api";

/** Parses the Worker's `Server-Timing: d1;dur=…;desc="N queries, M statements"` entry (queries are round trips). */
export function d1Usage(res: ApiResponse) {
  const header = res.headers.get("Server-Timing") ?? "";
  const match = /(?:^|,\s*)d1;dur=(\d+(?:\.\d+)?);desc="(\d+) quer(?:y|ies), (\d+) statements?"/.exec(header);
  if (!match) throw new Error(`no d1 Server-Timing entry in ${JSON.stringify(header)}`);
  return { queries: Number(match[2]), statements: Number(match[3]) };
}
