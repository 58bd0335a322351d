import type { Context } from "hono";
import { sha256Hex } from "../auth/tokens";
import type { AppEnv } from "../env";

/** Mail kinds that each have their own per-address hourly budget. */
export type MailKind = "reset" | "verify" | "email_change" | "login_code";

/** At most this many mails of one kind per address per hour, whatever the rate limits allow. */
export const MAX_MAILS_PER_HOUR = 3;

/** Takes one send of `kind` to `address` from its hourly budget; false when it is spent (answer 200 all the same). */
export const takeMailQuota = (c: Context<AppEnv>, kind: MailKind, address: string) =>
  takeHourlyMailQuota(c.env.KV, kind, address, MAX_MAILS_PER_HOUR);

const HOUR_SECONDS = 3600;

/**
 * Counts one send against a per-address hourly budget in KV and says whether
 * it is still within `max`. Approximate by design: KV is eventually
 * consistent and read-modify-write is not atomic, so parallel requests or
 * another location may count a few extra. The rate-limit bindings bound
 * bursts; this bounds the hourly total a script can mail to someone.
 * The window is fixed from the first send; the address is stored hashed.
 */
export async function takeHourlyMailQuota(kv: KVNamespace, scope: string, address: string, max: number) {
  const key = `mail-quota:${scope}:${await sha256Hex(address)}`;
  const now = Math.floor(Date.now() / 1000);
  const stored = await kv.get<{ count: number; resetAt: number }>(key, "json");
  const window = stored && stored.resetAt > now ? stored : { count: 0, resetAt: now + HOUR_SECONDS };
  if (window.count >= max) return false;
  await kv.put(key, JSON.stringify({ count: window.count + 1, resetAt: window.resetAt }), {
    expirationTtl: Math.max(60, window.resetAt - now),
  });
  return true;
}
