import type { Context } from "hono";

/** The caller's IP as Cloudflare saw it; "unknown" only outside Cloudflare (and in tests that send none). */
export const clientIp = (c: Context) => c.req.header("CF-Connecting-IP") ?? "unknown";

/**
 * The network a client controls as a whole, for every per-IP limit and the
 * lockout: an IPv4 address, or the /64 of an IPv6 address. One IPv6 customer
 * usually gets a whole /64 (2^64 addresses), so keying on the address would
 * hand them a fresh budget per request.
 */
export const clientNetwork = (c: Context) => networkOf(clientIp(c));

/** `networkOf("2001:db8:0:1::abcd")` is `"2001:db8:0:1::/64"`; IPv4 (also IPv4-mapped IPv6) stays the address. */
export function networkOf(ip: string): string {
  const address = ip.trim().toLowerCase();
  if (!address.includes(":")) return address;
  const mapped = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) return mapped[1];
  const [head = "", tail] = address.split("::", 2);
  const groupsOf = (part: string) => (part ? part.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g])) : []);
  const front = groupsOf(head);
  const back = tail === undefined ? [] : groupsOf(tail);
  const groups =
    tail === undefined ? front : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return address;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

export const userAgent = (c: Context) => c.req.header("User-Agent")?.slice(0, 256) ?? null;
