import type { Context } from "hono";
import type { AppEnv } from "../env";
import { logEvent } from "../http/log";
import { sendMail } from "./client";
import type { MailMessage } from "./templates";

/**
 * Composes and sends a message after the response has gone out
 * (`waitUntil`), so a slow or failing mail API never slows or fails the
 * request, and response timing never depends on whether mail was sent.
 * A failure is logged with the request id and the user id, never the
 * recipient, the link or the key.
 */
export function deliverAfterResponse(
  c: Context<AppEnv>,
  meta: { kind: string; userId: string },
  compose: () => Promise<MailMessage>,
) {
  const { config, requestId } = c.var;
  // Not even composing (token, KV write) starts before the response is on its way: for
  // forgot-password that work happens only for real accounts, so it must not add to the response time.
  const task = new Promise((resolve) => setTimeout(resolve, 0))
    .then(compose)
    .then((message) => sendMail(config, message))
    .then(
      () => logEvent("info", { requestId, event: "mail_sent", ...meta }),
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

/** Where emailed links point: APP_URL (the SPA) when set, else this API's own origin, which serves the pages. */
export const linkBase = (c: Context<AppEnv>) => (c.var.config.APP_URL ?? new URL(c.req.url).origin).replace(/\/+$/, "");
