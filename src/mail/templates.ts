/** One email in both forms; `link` is the action URL (if any), shown by the console provider. */
export type MailMessage = { to: string; subject: string; html: string; text: string; link?: string };

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for an HTML body or a quoted attribute. Every interpolated value in an HTML email goes through it. */
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);

export function describeDuration(seconds: number): string {
  const [amount, unit] =
    seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.max(1, Math.round(seconds / 60)), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

type Content = { to: string; subject: string; lines: string[]; action?: { label: string; link: string } };

/**
 * Renders a message with at most one call-to-action link. `lines` are plain
 * text, escaped here, so templates never build HTML from user values.
 *
 * No message carries text a user chose (username, another address): mail goes
 * to addresses nobody has proven yet (registration, an email change), and an
 * attacker must not be able to make us deliver their words there
 * ("Hi evil-login.example.com,"). Hence the fixed greeting.
 */
function render({ to, subject, lines, action }: Content): MailMessage {
  const all = ["Hello,", ...lines];
  const text = [...all.flatMap((l) => [l, ""]), ...(action ? [`${action.label}: ${action.link}`, ""] : [])].join("\n");
  const paragraphs = all.map((l) => `<p>${escapeHtml(l)}</p>`).join("\n");
  const button = action
    ? `<p><a href="${escapeHtml(action.link)}" style="display:inline-block;padding:10px 16px;background:#1f5fbf;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(action.label)}</a></p>
<p style="font-size:13px;color:#555">Or paste this link into your browser: ${escapeHtml(action.link)}</p>
`
    : "";
  const html = `<!doctype html>
<html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222;max-width:560px;margin:auto;padding:16px">
${paragraphs}
${button}</body></html>`;
  return { to, subject, html, text, link: action?.link };
}

export const passwordResetEmail = (to: string, link: string, ttlSeconds: number) =>
  render({
    to,
    subject: "Reset your password",
    lines: [
      "Someone (hopefully you) asked to reset the password of the account registered with this email address.",
      `The link below works once and expires in ${describeDuration(ttlSeconds)}.`,
      "If you did not ask for this, ignore this email: your password stays as it is.",
    ],
    action: { label: "Choose a new password", link },
  });

export const verificationEmail = (to: string, link: string, ttlSeconds: number) =>
  render({
    to,
    subject: "Confirm your email address",
    lines: [
      "Please confirm that this email address is yours.",
      "Open the link below where you are signed in to your account, or sign in on the page it opens: it confirms the address only for the account's holder.",
      `It works once and expires in ${describeDuration(ttlSeconds)}.`,
      "If you did not create an account, ignore this email: nothing is confirmed without you.",
    ],
    action: { label: "Confirm my email", link },
  });

/** To the requested new address: confirming it is what moves the account there. */
export const emailChangeVerificationEmail = (to: string, link: string, ttlSeconds: number) =>
  render({
    to,
    subject: "Confirm your new email address",
    lines: [
      "Someone asked to move an account to this email address. Nothing changes until the address is confirmed.",
      "Open the link below where you are signed in to that account, or sign in on the page it opens: only the account's holder can confirm.",
      `It works once and expires in ${describeDuration(ttlSeconds)}.`,
      "If you did not ask for this, ignore this email: the address is not moved without you.",
    ],
    action: { label: "Confirm my new email", link },
  });

/** To the current address when a change is requested: no link, no token, nothing the requester wrote. */
export const emailChangeRequestedNotice = (to: string) =>
  render({
    to,
    subject: "A change of your email address was requested",
    lines: [
      "Someone signed in to your account asked to move it to another email address.",
      "It takes effect only once the new address is confirmed; until then this address stays in charge.",
      "If this was not you, change your password now and cancel the pending change in your account settings.",
    ],
  });

/** To the previous address once the account has moved away from it. */
export const emailChangedNotice = (to: string) =>
  render({
    to,
    subject: "Your email address was changed",
    lines: [
      "The account registered with this email address now uses another one; this address no longer receives its mail.",
      "If you did not make or ask for this change, contact support at once.",
    ],
  });

/** To the account's address when TOTP was turned on. */
export const mfaEnabledNotice = (to: string) =>
  render({
    to,
    subject: "Two-step sign-in was turned on",
    lines: [
      "Signing in to your account now needs a code from your authenticator app after the password.",
      "Keep your recovery codes somewhere safe: each one signs you in once if you lose the app.",
      "If this was not you, reset your password now and contact support.",
    ],
  });

/** To the account's address when TOTP was turned off, by its owner or by an admin. */
export const mfaDisabledNotice = (to: string, byAdmin: boolean) =>
  render({
    to,
    subject: "Two-step sign-in was turned off",
    lines: [
      byAdmin
        ? "An administrator turned off two-step sign-in for your account and signed out every session."
        : "Two-step sign-in was turned off for your account: the password alone now signs in.",
      "If this was not you, reset your password now and contact support.",
    ],
  });

/** To the account's address when a recovery code signed in: how many remain, never which one. */
export const recoveryCodeUsedNotice = (to: string, remaining: number) =>
  render({
    to,
    subject: "A recovery code was used to sign in",
    lines: [
      "One of your recovery codes was just used to sign in to your account; it cannot be used again.",
      `${remaining} unused recovery code${remaining === 1 ? "" : "s"} remain${remaining === 1 ? "s" : ""}. You can make a new set in your account settings.`,
      "If this was not you, reset your password now and contact support.",
    ],
  });

/** A one-time sign-in code (POST /login/email-code): the code in the body only, never in a link or the subject. */
export const loginCodeEmail = (to: string, code: string, ttlSeconds: number) =>
  render({
    to,
    subject: "Your sign-in code",
    lines: [
      "Someone (hopefully you) asked to sign in to the account registered with this email address.",
      `Your sign-in code is ${code}. It works once and expires in ${describeDuration(ttlSeconds)}.`,
      "Never give this code to anyone. If you did not ask for it, ignore this email: nobody can sign in without it.",
    ],
  });

/** A step-up code (POST /me/reauthenticate/email-code): says what it confirms, so it is not mistaken for a sign-in code. */
export const stepUpCodeEmail = (to: string, code: string, ttlSeconds: number) =>
  render({
    to,
    subject: "Your confirmation code",
    lines: [
      `Your code to confirm a change to your account's security is ${code}. It works once and expires in ${describeDuration(ttlSeconds)}.`,
      "Never give it to anyone. If you did not ask for it, someone may be signed in as you.",
    ],
  });

/** To the account's address when a social sign-in identity was linked: which provider (its configured name), nothing a user typed. */
export const identityLinkedNotice = (to: string, providerName: string) =>
  render({
    to,
    subject: `${providerName} sign-in was linked to your account`,
    lines: [
      `Your ${providerName} account can now sign in to your account.`,
      "If this was not you, sign in, unlink it under your sign-in methods, and change your password.",
    ],
  });

/** To the account's address when a passkey was added or removed; never its name (the user chose it). */
export const passkeyChangedNotice = (to: string, change: "added" | "removed") =>
  render({
    to,
    subject: `A passkey was ${change === "added" ? "added to" : "removed from"} your account`,
    lines: ["If this was not you, reset your password now and contact support."],
  });

/**
 * To the account's address after its password changed (POST /me/password or
 * POST /reset-password): when, and where to take the account back. The link
 * is the app's address, carrying no token: a reset starts from there.
 */
export const passwordChangedNotice = (to: string, at: Date, resetFrom: string) =>
  render({
    to,
    subject: "Your password was changed",
    lines: [
      `The password of the account registered with this email address was changed on ${at.toISOString().slice(0, 16).replace("T", " ")} UTC. Every device signed in before then was signed out.`,
      "If this was not you, reset your password now: open the link below and choose Forgot password, then contact support.",
    ],
    action: { label: "Reset my password", link: resetFrom },
  });
