import type { Config } from "../env";
import type { MailMessage } from "./templates";

/** A mail API that does not answer in this time is given up on (the request it belongs to has long been answered). */
export const MAIL_TIMEOUT_MS = 10_000;

type MailConfig = Pick<Config, "MAIL_PROVIDER" | "MAIL_API_URL" | "MAIL_API_KEY" | "MAIL_FROM">;

/**
 * Sends one message through the configured provider. Throws on any failure;
 * error messages are built here and never contain the API key.
 */
export async function sendMail(config: MailConfig, message: MailMessage): Promise<void> {
  if (config.MAIL_PROVIDER === "console") return printToConsole(config, message);
  if (!config.MAIL_API_KEY) throw new Error("MAIL_API_KEY is not set");

  const response = await fetch(`${config.MAIL_API_URL.replace(/\/+$/, "")}/emails`, {
    method: "POST",
    headers: { Authorization: `Bearer ${config.MAIL_API_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      from: config.MAIL_FROM,
      to: [message.to],
      subject: message.subject,
      html: message.html,
      text: message.text,
    }),
    signal: AbortSignal.timeout(MAIL_TIMEOUT_MS),
  });
  // The body is not needed (Resend answers `{ id }`); drain it so the connection is released.
  await response.body?.cancel();
  if (!response.ok) throw new Error(`mail API answered ${response.status}`);
}

/**
 * Local development: the message and its link go to the `wrangler dev`
 * terminal. This is the only place a link carrying a token is ever printed,
 * and only when MAIL_PROVIDER is `console` (the default).
 */
function printToConsole(config: MailConfig, message: MailMessage) {
  console.log(
    [
      "──── email (MAIL_PROVIDER=console, not sent) ────",
      `From:    ${config.MAIL_FROM}`,
      `To:      ${message.to}`,
      `Subject: ${message.subject}`,
      `Link:    ${message.link ?? "(none)"}`,
      "",
      message.text,
      "─────────────────────────────────────────────────",
    ].join("\n"),
  );
}
