import { sha256Hex } from "../auth/tokens";

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
