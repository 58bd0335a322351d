import type { Context } from "hono";
import type { AppEnv } from "../env";

/** A fresh CSP nonce for one HTML response. */
export const newNonce = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));

/** Text for HTML: every character that could open markup or end an attribute is escaped. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

type PageOptions = { title: string; main: string; script?: string; connect?: boolean };

/**
 * The branded shell of the API's own HTML pages (the index and the emailed-link pages):
 * the product name (APP_NAME) on top, one card, accessible contrast and focus rings.
 * Strict CSP: nothing but this response's nonced style and script runs, the page
 * talks only to its own origin, and it cannot be framed. No referrer, no caching,
 * no indexing: the emailed-link pages are opened with a secret in the address.
 */
export function htmlPage(c: Context<AppEnv>, { title, main, script, connect = false }: PageOptions) {
  const nonce = newNonce();
  const appName = escapeHtml(c.var.config.APP_NAME);
  c.header(
    "Content-Security-Policy",
    [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      `connect-src ${connect ? "'self'" : "'none'"}`,
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
<title>${escapeHtml(title)} · ${appName}</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body><header class="brand"><span class="logo" aria-hidden="true">◆</span> ${appName}</header>
<main class="card">
<h1>${escapeHtml(title)}</h1>
${main}
</main>
${script ? `<script nonce="${nonce}">${script}</script>` : ""}
</body></html>`);
}

// Colours meet WCAG AA contrast on white (text #111827, muted #4b5563, primary #1d4ed8, error #b91c1c).
const STYLE = [
  ":root{color-scheme:light}*{box-sizing:border-box}",
  "body{margin:0;min-height:100vh;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#111827;",
  "background:linear-gradient(180deg,#eef2ff 0,#f8fafc 18rem)}",
  ".brand{max-width:30rem;margin:0 auto;padding:2.5rem 1rem 1rem;font-weight:700;font-size:1.15rem;color:#1e3a8a}",
  ".logo{color:#1d4ed8}",
  ".card{max-width:30rem;margin:0 auto 3rem;background:#fff;border:1px solid #e5e7eb;border-radius:14px;",
  "padding:1.75rem;box-shadow:0 10px 30px -12px rgba(30,58,138,.25)}",
  "h1{font-size:1.45rem;line-height:1.25;margin:0 0 .5rem}p{margin:.5rem 0}.muted{color:#4b5563}",
  "label{display:block;font-weight:600;margin:1rem 0 .3rem}",
  "input{display:block;width:100%;font:inherit;padding:.65rem .75rem;border:1px solid #9ca3af;border-radius:8px}",
  "input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
  "input[aria-invalid=true]{border-color:#b91c1c}",
  "button,.button{display:inline-block;width:100%;margin-top:1.25rem;font:inherit;font-weight:600;text-align:center;",
  "color:#fff;background:#1d4ed8;border:0;border-radius:8px;padding:.75rem 1rem;cursor:pointer;text-decoration:none}",
  "button:hover,.button:hover{background:#1e40af}button:disabled{background:#6b7280;cursor:progress}",
  "a{color:#1d4ed8}ul.rules{margin:.5rem 0 0;padding-left:1.2rem;color:#4b5563;font-size:.92rem}",
  ".status{margin-top:1rem;padding:.75rem 1rem;border-radius:8px}.status:empty{display:none}",
  ".status.ok{background:#ecfdf5;color:#065f46;border:1px solid #a7f3d0}",
  ".status.err{background:#fef2f2;color:#991b1b;border:1px solid #fecaca}",
  "nav.links{display:grid;gap:.6rem;margin-top:1.25rem}nav.links a{display:block;padding:.8rem 1rem;",
  "border:1px solid #e5e7eb;border-radius:10px;text-decoration:none}nav.links a:hover{border-color:#1d4ed8}",
  "nav.links strong{display:block}nav.links span{color:#4b5563;font-size:.92rem}",
].join("");
