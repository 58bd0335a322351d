import type { Context } from "hono";

/** The caller's IP as Cloudflare saw it; "unknown" only outside Cloudflare (and in tests that send none). */
export const clientIp = (c: Context) => c.req.header("CF-Connecting-IP") ?? "unknown";

export const userAgent = (c: Context) => c.req.header("User-Agent")?.slice(0, 256) ?? null;
