import { createServer, type IncomingMessage, type Server } from "node:http";
import type { CapturedEmail } from "./email-types";

/**
 * A Resend-compatible capture endpoint, and the local inbox of `npm run dev`:
 * `POST /emails` stores the message and answers like Resend;
 * `GET /messages?to=ADDRESS` lists what was sent (to an address) as JSON;
 * `GET /` is an inbox page with every message, newest first, and its links.
 * Recipients steer failure tests: an address containing "mail-fails" gets a
 * 500, one containing "mail-hangs" never gets an answer.
 *
 * Started by the test suite's global setup, by `npm run dev` (scripts/dev.mjs)
 * and on its own by `npm run mail` (PORT, default 8788). It listens on
 * 127.0.0.1 only: the messages carry live reset links.
 */

/** A request body as text (shared by the local stand-ins: mail, Turnstile, identity provider). */
export const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });

export type MailServerOptions = {
  /** Called with each stored message (the dev launcher prints it to the terminal). */
  onMessage?: (email: CapturedEmail) => void;
};

export function startMailServer(port = 0, options: MailServerOptions = {}): Promise<{ server: Server; url: string }> {
  const messages: CapturedEmail[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "POST" && url.pathname === "/emails") {
      const email = JSON.parse(await readBody(req)) as Omit<CapturedEmail, "authorization" | "receivedAt">;
      const to = email.to.join(",");
      if (to.includes("mail-hangs")) return; // never answers: the Worker must not wait for us
      const stored = {
        ...email,
        authorization: req.headers.authorization ?? null,
        receivedAt: new Date().toISOString(),
      };
      messages.push(stored);
      options.onMessage?.(stored);
      if (to.includes("mail-fails"))
        return send(500, { name: "internal_server_error", message: "capture told to fail" });
      return send(200, { id: crypto.randomUUID() });
    }
    if (req.method === "GET" && url.pathname === "/messages") {
      const to = url.searchParams.get("to")?.toLowerCase();
      return send(
        200,
        messages.filter((m) => !to || m.to.some((t) => t.toLowerCase() === to)),
      );
    }
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        // No script at all; the inline style is the page's only resource.
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
      });
      return res.end(inboxPage(messages));
    }
    send(404, { message: "not found" });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const actualPort = typeof address === "object" && address ? address.port : port;
      resolve({ server, url: `http://127.0.0.1:${actualPort}` });
    });
  });
}

/** The http(s) links in a message's text part, in order, without duplicates. */
export const linksIn = (text: string) => [...new Set(text.match(/https?:\/\/[^\s"<>]+/g) ?? [])];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const pathOf = (link: string) => {
  try {
    return new URL(link).pathname;
  } catch {
    return link;
  }
};

/** The text part with its links clickable; everything else escaped. */
const linkify = (text: string) =>
  text
    .split(/(https?:\/\/[^\s"<>]+)/g)
    .map((part, i) => (i % 2 ? `<a href="${escapeHtml(part)}">${escapeHtml(part)}</a>` : escapeHtml(part)))
    .join("");

function inboxPage(messages: CapturedEmail[]) {
  const items = [...messages].reverse().map(
    (m) => `<article>
<header><h2>${escapeHtml(m.subject)}</h2>
<p class="meta">to ${escapeHtml(m.to.join(", "))} · from ${escapeHtml(m.from)} · <time>${escapeHtml(m.receivedAt)}</time></p></header>
${linksIn(m.text)
  .map((link) => `<p><a class="button" href="${escapeHtml(link)}">Open ${escapeHtml(pathOf(link))}</a></p>`)
  .join("")}
<details><summary>Text</summary><pre>${linkify(m.text)}</pre></details>
</article>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="10"><title>Local inbox (${messages.length})</title>
<style>${INBOX_STYLE}</style></head>
<body><main>
<h1>Local inbox</h1>
<p class="lead">Every email the API sent while <code>npm run dev</code> runs. Nothing leaves this machine.
The page reloads every 10 seconds; the JSON is at <a href="/messages">/messages</a>.</p>
${items.length ? items.join("\n") : `<p class="empty">No emails yet. Register an account or ask for a password reset.</p>`}
</main></body></html>`;
}

const INBOX_STYLE = [
  "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#111827;margin:0}",
  "main{max-width:46rem;margin:2rem auto;padding:0 1rem}",
  "h1{font-size:1.6rem;margin:0 0 .25rem}.lead{color:#4b5563}",
  "article{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:1rem 1.25rem;margin:1rem 0}",
  "h2{font-size:1.1rem;margin:0}.meta{color:#4b5563;font-size:.9rem;margin:.25rem 0 .75rem}",
  "a{color:#1d4ed8}a.button{display:inline-block;background:#1d4ed8;color:#fff;text-decoration:none;",
  "padding:.45rem .9rem;border-radius:6px}a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
  "pre{white-space:pre-wrap;word-break:break-all;background:#f9fafb;padding:.75rem;border-radius:6px}",
  ".empty{background:#fff;border:1px dashed #d1d5db;border-radius:10px;padding:2rem;text-align:center}",
].join("");

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await startMailServer(Number(process.env.PORT ?? 8788));
  console.log(`mail capture listening on ${url}: inbox at ${url}/ (JSON at ${url}/messages)`);
}
