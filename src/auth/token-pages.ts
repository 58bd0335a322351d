import type { Context } from "hono";
import type { AppEnv } from "../env";

/**
 * The pages emailed links open: GET /reset-password?token= and
 * GET /verify-email?token=. They read nothing and consume nothing on the
 * server (mail scanners follow links); the token never enters the HTML, the
 * page's script reads it from the address bar, drops it from history, and
 * POSTs it as JSON to the same path when the person acts.
 */
export function tokenPage(c: Context<AppEnv>, kind: "reset" | "verify") {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const body = kind === "reset" ? resetBody(c.var.config.PASSWORD_MIN_LENGTH) : verifyBody;
  const title = kind === "reset" ? "Choose a new password" : "Confirm your email address";
  c.header(
    "Content-Security-Policy",
    [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
  );
  c.header("Referrer-Policy", "no-referrer");
  c.header("Cache-Control", "no-store");
  c.header("X-Robots-Tag", "noindex");
  return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body><main>
<h1>${title}</h1>
${body}
<p id="status" role="status"></p>
<noscript><p class="err">This page needs JavaScript to send the form.</p></noscript>
</main>
<script nonce="${nonce}">${kind === "reset" ? RESET_SCRIPT : VERIFY_SCRIPT}</script>
</body></html>`);
}

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}" +
  "label{display:block;margin:.75rem 0}input{display:block;width:100%;padding:.5rem;box-sizing:border-box}" +
  "button{padding:.6rem 1rem;margin-top:.5rem}.ok{color:#166534}.err{color:#b91c1c}";

const resetBody = (minLength: number) => `<form id="form" method="post">
<label>New password<input type="password" name="password" autocomplete="new-password" required minlength="${minLength}"></label>
<label>Repeat it<input type="password" name="confirm" autocomplete="new-password" required></label>
<button type="submit">Set new password</button>
</form>`;

const verifyBody = `<form id="form" method="post"><button type="submit">Confirm my email</button></form>`;

/** Shared by both pages: token handling, the JSON POST and the result message (textContent only, never HTML). */
const COMMON_SCRIPT = `
const token = new URLSearchParams(location.search).get("token") || "";
history.replaceState(null, "", location.pathname);
const form = document.getElementById("form");
const show = (text, ok) => { const s = document.getElementById("status"); s.textContent = text; s.className = ok ? "ok" : "err"; };
const explain = (json) => json && json.error && json.error.code === "INVALID_TOKEN"
  ? "This link is invalid, has expired or was already used. Ask for a new email."
  : (json && json.error && json.error.details && json.error.details.map((d) => d.message).join(" ")) || (json && json.message) || "Something went wrong; try again.";
async function submit(payload, success) {
  form.querySelector("button").disabled = true;
  try {
    const res = await fetch(location.pathname, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    const json = await res.json().catch(() => null);
    if (res.ok) { form.remove(); show(success, true); } else show(explain(json), false);
  } catch { show("Network error; try again.", false); }
  finally { if (form.isConnected) form.querySelector("button").disabled = false; }
}
if (!token) { form.remove(); show("This link has no token. Open the link from your email again.", false); }`;

const RESET_SCRIPT = `${COMMON_SCRIPT}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (form.password.value !== form.confirm.value) return show("The two passwords differ.", false);
  submit({ token, password: form.password.value }, "Your password has been changed and every session signed out. Log in with the new password.");
});`;

const VERIFY_SCRIPT = `${COMMON_SCRIPT}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  submit({ token }, "Your email address is confirmed.");
});`;
