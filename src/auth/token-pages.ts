import type { Context } from "hono";
import type { AppEnv } from "../env";
import { escapeHtml, htmlPage } from "../pages/layout";
import { MAX_PASSWORD_BYTES } from "./passwords";

/**
 * The pages emailed links open: GET /reset-password?token= and
 * GET /verify-email?token=. They read nothing and consume nothing on the
 * server (mail scanners follow links); the token never enters the HTML, the
 * page's script reads it from the address bar, drops it from history, keeps it
 * in this tab's sessionStorage (so a reload still works), and POSTs it as JSON
 * to the same path when the person acts (the verify page signs the account's
 * holder in first: verification needs their session). After success the token is forgotten
 * and the page offers a way on: APP_URL (the app) when set, else this API's index.
 */
export function tokenPage(c: Context<AppEnv>, kind: "reset" | "verify") {
  const { APP_NAME, APP_URL, PASSWORD_MIN_LENGTH } = c.var.config;
  // Only a web address becomes the way on; anything else (a javascript: URL in APP_URL) falls back to the index.
  const home = APP_URL && /^https?:\/\//i.test(APP_URL) ? APP_URL : "/";
  const next = `<p id="next" hidden><a class="button" href="${escapeHtml(home)}">Continue to ${escapeHtml(APP_NAME)}</a></p>`;
  const status = `<p id="status" class="status" role="status" aria-live="polite"></p>
<noscript><p class="status err">This page needs JavaScript to send the form.</p></noscript>`;
  if (kind === "verify") {
    // N1: the link proves the mailbox, not who holds the account, so the page signs the holder in first
    // (it cannot see the app's session) and confirms with that session, which it then ends.
    return htmlPage(c, {
      title: "Confirm your email address",
      connect: true,
      main: `<p class="muted">Sign in to the ${escapeHtml(APP_NAME)} account this address belongs to: the address is confirmed only for the account you sign in to. If you did not create an account, ignore the email; nothing is confirmed.</p>
<form id="form" method="post" novalidate>
<div id="signin">
<label for="email">Email</label>
<input id="email" type="email" name="email" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
</div>
<div id="second" hidden>
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="6">
</div>
<button type="submit">Sign in and confirm</button>
</form>
<p class="muted" id="other">Signed up with a social account or an emailed code? Open this link in the app where you are signed in.</p>
${status}
${next}`,
      script: VERIFY_SCRIPT,
    });
  }
  return htmlPage(c, {
    title: "Choose a new password",
    connect: true,
    main: `<p class="muted">For your ${escapeHtml(APP_NAME)} account. Every signed-in device is signed out when it changes.</p>
<form id="form" method="post" novalidate>
<label for="password">New password</label>
<input id="password" type="password" name="password" autocomplete="new-password" required minlength="${PASSWORD_MIN_LENGTH}" aria-describedby="rules">
<ul id="rules" class="rules">
<li>At least ${PASSWORD_MIN_LENGTH} characters (at most ${MAX_PASSWORD_BYTES} bytes); spaces and any symbols are fine</li>
<li>Not a common password, and not your email or username</li>
</ul>
<label for="confirm">Repeat the new password</label>
<input id="confirm" type="password" name="confirm" autocomplete="new-password" required>
<button type="submit">Set new password</button>
</form>
${status}
${next}`,
    script: RESET_SCRIPT(PASSWORD_MIN_LENGTH),
  });
}

/** Shared by both pages: token handling, the JSON POST and the result message (textContent only, never HTML). */
const COMMON_SCRIPT = `
"use strict";
const key = "token:" + location.pathname;
const fromLink = new URLSearchParams(location.search).get("token");
if (fromLink) sessionStorage.setItem(key, fromLink);
history.replaceState(null, "", location.pathname);
const token = sessionStorage.getItem(key) || "";
const form = document.getElementById("form");
const statusEl = document.getElementById("status");
const show = (text, ok) => { statusEl.textContent = text; statusEl.className = "status " + (ok ? "ok" : "err"); statusEl.setAttribute("role", ok ? "status" : "alert"); };
const clear = () => { statusEl.textContent = ""; statusEl.className = "status"; };
const done = (text) => {
  form.remove();
  sessionStorage.removeItem(key);
  sessionStorage.setItem("done:" + location.pathname, text);
  show(text, true);
  document.getElementById("next").hidden = false;
  document.querySelector("#next a").focus();
};
const explain = (json) => json && json.error && json.error.code === "INVALID_TOKEN"
  ? "This link is invalid, has expired or was already used. Ask for a new email."
  : (json && json.error && json.error.details && json.error.details.map((d) => d.message).join(". ")) || (json && json.message) || "Something went wrong; try again.";
async function submit(payload, success) {
  clear();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const res = await fetch(location.pathname, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    const json = await res.json().catch(() => null);
    if (res.ok) done(success); else show(explain(json), false);
  } catch { show("Network error; check your connection and try again.", false); }
  finally { if (form.isConnected) button.disabled = false; }
}
form.addEventListener("input", clear);
const finished = sessionStorage.getItem("done:" + location.pathname);
if (!token && finished) { form.remove(); show(finished, true); document.getElementById("next").hidden = false; }
else if (!token) { form.remove(); show("This link is incomplete. Open the link from your email again.", false); }`;

const RESET_SCRIPT = (minLength: number) => `${COMMON_SCRIPT}
const [password, confirm] = [form.password, form.confirm];
const invalid = (input, message) => { input.setAttribute("aria-invalid", "true"); input.focus(); show(message, false); };
form.addEventListener("input", () => { password.removeAttribute("aria-invalid"); confirm.removeAttribute("aria-invalid"); });
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if ([...password.value].length < ${minLength}) return invalid(password, "The password needs at least ${minLength} characters.");
  if (password.value !== confirm.value) return invalid(confirm, "The two passwords differ.");
  submit({ token, password: password.value }, "Your password has been changed and every session signed out. Log in with the new password.");
});`;

/**
 * Signs in (POST /login, then POST /login/mfa when the account has TOTP), POSTs the token with that
 * bearer, and ends the page's session (POST /logout): the page keeps no tokens, not even in storage.
 */
const VERIFY_SCRIPT = `${COMMON_SCRIPT}
let mfaToken = "";
const call = async (path, body, bearer) => {
  const headers = { "Content-Type": "application/json" };
  if (bearer) headers.Authorization = "Bearer " + bearer;
  const res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  return { ok: res.ok, json: await res.json().catch(() => null) };
};
const mismatch = "This link is invalid, has expired, was already used, or is for another account. Sign in to the account that asked for it, or ask for a new email.";
async function confirm(access) {
  const verified = await call("/verify-email", { token }, access);
  call("/logout", {}, access).catch(() => {});
  if (verified.ok) {
    document.getElementById("other").remove();
    return done("Your email address is confirmed.");
  }
  const code = verified.json && verified.json.error && verified.json.error.code;
  show(code === "INVALID_TOKEN" ? mismatch : explain(verified.json), false);
}
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clear();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const signedIn = mfaToken
      ? await call("/login/mfa", { mfaToken, code: form.code.value.trim() })
      : await call("/login", { email: form.email.value.trim(), password: form.password.value });
    const data = signedIn.ok && signedIn.json && signedIn.json.data;
    if (data && data.mfaRequired) {
      mfaToken = data.mfaToken;
      document.getElementById("signin").hidden = true;
      document.getElementById("second").hidden = false;
      form.code.focus();
    } else if (data && data.accessToken) await confirm(data.accessToken);
    else show(explain(signedIn.json), false);
  } catch { show("Network error; check your connection and try again.", false); }
  finally { if (form.isConnected) button.disabled = false; }
});`;
