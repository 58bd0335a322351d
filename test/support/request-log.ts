import { vi } from "vitest";
import type { ApiResponse } from "./api";

/**
 * Runs `send` (a `settled(...)` call, so the Worker runs in this isolate) and
 * returns its response with the structured request-log line it produced,
 * parsed. Lets a test assert on work the Worker did (the bcrypt cost it
 * used, the delay it waited) without timing anything.
 */
export async function withRequestLog(
  send: (requestId: string) => Promise<ApiResponse>,
): Promise<{ res: ApiResponse; log: Record<string, unknown> }> {
  const requestId = `rl-${crypto.randomUUID()}`;
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  try {
    const res = await send(requestId);
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.requestId === requestId && l.path !== undefined);
    if (!line) throw new Error(`no request log line for ${requestId}`);
    return { res, log: line };
  } finally {
    spy.mockRestore();
  }
}
