import { env } from "cloudflare:workers";
import type { CapturedEmail } from "./email-types";

/** What the capture endpoint received for an address. */
export async function emailsTo(address: string): Promise<CapturedEmail[]> {
  const res = await fetch(`${env.MAIL_API_URL}/messages?to=${encodeURIComponent(address)}`);
  return res.json();
}

/** Waits for the `count`-th email to an address: mail is sent after the response, in waitUntil. */
export async function waitForEmail(address: string, count = 1, timeoutMs = 5000): Promise<CapturedEmail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const emails = await emailsTo(address);
    const email = emails[count - 1];
    if (email) return email;
    if (Date.now() > deadline) throw new Error(`no email #${count} to ${address} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits for the newest email to an address with a `<path>?token=` link and
 * returns that token. Mail goes out after each response, so two mails asked
 * for one after the other (registration, then a reset) may arrive either way round.
 */
export async function waitForToken(address: string, path: "/reset-password" | "/verify-email", timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const email = (await emailsTo(address)).findLast((m) => m.text.includes(`${path}?token=`));
    if (email) return tokenFrom(email);
    if (Date.now() > deadline) throw new Error(`no ${path} link to ${address} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The token of the first `…?token=` link in an email's text. */
export function tokenFrom(email: CapturedEmail): string {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(email.text);
  if (!match?.[1]) throw new Error(`no token link in email: ${email.text}`);
  return match[1];
}
