import type { Context } from "hono";
import type { AppEnv } from "../env";
import { logEvent } from "../http/log";
import { sendMail } from "./client";
import type { MailMessage } from "./templates";

/**
 * Composes and sends a message after the response has gone out
 * (`waitUntil`), so a slow or failing mail API never slows or fails the
 * request, and response timing never depends on whether mail was sent.
 * `compose` may return null to send nothing. A failure is logged with the
 * request id and the user id, never the recipient, the link or the key.
 */
export function deliverAfterResponse(
  c: Context<AppEnv>,
  meta: { kind: string; userId: string },
  compose: () => Promise<MailMessage | null>,
) {
  const { config, requestId } = c.var;
  // Not even composing (token, KV write) starts before the response is on its way: for
  // forgot-password that work happens only for real accounts, so it must not add to the response time.
  const task = new Promise((resolve) => setTimeout(resolve, 0))
    .then(compose)
    .then(async (message) => {
      if (!message) return "mail_skipped"; // compose declined (the address's hourly mail cap is spent)
      await sendMail(config, message);
      return "mail_sent";
    })
    .then(
      (event) => logEvent("info", { requestId, event, ...meta }),
      (err: unknown) =>
        logEvent("error", {
          requestId,
          event: "mail_failed",
          ...meta,
          error: err instanceof Error ? `${err.name}: ${err.message}` : "unknown error",
        }),
    );
  try {
    c.executionCtx.waitUntil(task);
  } catch {
    // No ExecutionContext (e.g. `app.request()` in a script): the task is already running on its own.
  }
}

/**
 * Where emailed links point: APP_URL (the SPA). The request's own origin comes
 * from its Host header, which the sender chooses (`Host: evil.example` would
 * mail the victim a link to the attacker's site carrying their reset token),
 * so it is used only in local console mode, where links are printed to the
 * developer's terminal and mailed to nobody. Config parsing refuses
 * MAIL_PROVIDER=resend without APP_URL (503 MISCONFIGURED).
 */
export function linkBase(c: Context<AppEnv>): string {
  const { APP_URL, MAIL_PROVIDER } = c.var.config;
  if (APP_URL) return APP_URL.replace(/\/+$/, "");
  if (MAIL_PROVIDER === "console") return new URL(c.req.url).origin;
  throw new Error("APP_URL is required to build an emailed link");
}
