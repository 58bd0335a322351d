import type { Config } from "../../env";

/** Turnstile answers in well under a second; a hung siteverify must not hold a login for long. */
const VERIFY_TIMEOUT_MS = 5000;

/**
 * Asks Cloudflare Turnstile's siteverify (`TURNSTILE_VERIFY_URL`) whether a
 * widget token is genuine and unused. Any failure to get a clear "yes"
 * (network error, timeout, non-JSON) is a "no": the challenge fails closed.
 */
export async function verifyTurnstile(
  config: Pick<Config, "TURNSTILE_VERIFY_URL">,
  secret: string,
  token: string,
  remoteIp: string,
): Promise<boolean> {
  const form = new FormData();
  form.set("secret", secret);
  form.set("response", token);
  if (remoteIp !== "unknown") form.set("remoteip", remoteIp);
  try {
    const res = await fetch(config.TURNSTILE_VERIFY_URL, {
      method: "POST",
      body: form,
      signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
    });
    if (!res.ok) return false;
    const outcome = (await res.json()) as { success?: unknown };
    return outcome.success === true;
  } catch {
    return false;
  }
}
