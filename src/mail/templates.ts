/** One email in both forms; `link` is the action URL, shown by the console provider. */
export type MailMessage = { to: string; subject: string; html: string; text: string; link: string };

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for an HTML body or a quoted attribute. Every interpolated value in an HTML email goes through it. */
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);

export function describeDuration(seconds: number): string {
  const [amount, unit] =
    seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.max(1, Math.round(seconds / 60)), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

type Content = { to: string; subject: string; greeting: string; lines: string[]; action: string; link: string };

/**
 * Renders a message with one call-to-action link. `lines` are plain text:
 * they are escaped here, so templates never build HTML from user values.
 */
function render({ to, subject, greeting, lines, action, link }: Content): MailMessage {
  const text = [greeting, "", ...lines.flatMap((l) => [l, ""]), `${action}: ${link}`, ""].join("\n");
  const paragraphs = [greeting, ...lines].map((l) => `<p>${escapeHtml(l)}</p>`).join("\n");
  const html = `<!doctype html>
<html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222;max-width:560px;margin:auto;padding:16px">
${paragraphs}
<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:10px 16px;background:#1f5fbf;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(action)}</a></p>
<p style="font-size:13px;color:#555">Or paste this link into your browser: ${escapeHtml(link)}</p>
</body></html>`;
  return { to, subject, html, text, link };
}

type Recipient = { username: string; email: string };

export const passwordResetEmail = (user: Recipient, link: string, ttlSeconds: number) =>
  render({
    to: user.email,
    subject: "Reset your password",
    greeting: `Hi ${user.username},`,
    lines: [
      `Someone (hopefully you) asked to reset the password of the account ${user.email}.`,
      `The link below works once and expires in ${describeDuration(ttlSeconds)}.`,
      "If you did not ask for this, ignore this email: your password stays as it is.",
    ],
    action: "Choose a new password",
    link,
  });

export const verificationEmail = (user: Recipient, link: string, ttlSeconds: number) =>
  render({
    to: user.email,
    subject: "Confirm your email address",
    greeting: `Hi ${user.username},`,
    lines: [
      `Please confirm that ${user.email} is your email address.`,
      `The link below works once and expires in ${describeDuration(ttlSeconds)}.`,
      "If you did not create an account, ignore this email.",
    ],
    action: "Confirm my email",
    link,
  });
