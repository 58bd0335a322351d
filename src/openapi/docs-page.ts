/**
 * GET /docs: a small self-contained page (no CDN, no framework, a few KiB)
 * that reads /openapi.json, lists every operation, and sends a request with a
 * bearer token and a JSON body. Strict CSP: only this response's nonced script
 * and style run, and the page can only talk to its own origin.
 */
export function docsPage(nonce: string) {
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>API docs</title><style nonce="${nonce}">${STYLE}</style></head>
<body><header><h1 id="title">API docs</h1><p id="about"></p>
<label>Bearer token <input id="token" autocomplete="off" spellcheck="false" placeholder="filled in by a login or refresh below"></label>
<p><a href="/openapi.json">openapi.json</a></p></header>
<main id="ops"><p>Loading /openapi.json…</p></main>
<script nonce="${nonce}">${SCRIPT}</script></body></html>`;
  return { html, csp };
}

const STYLE = [
  "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#1f2937}",
  "header input{width:100%;font-family:monospace;padding:.4rem;box-sizing:border-box}",
  "details{border:1px solid #d1d5db;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}",
  "summary{cursor:pointer}.m{display:inline-block;width:4.2rem;font-weight:700;font-family:monospace}",
  ".get{color:#1d4ed8}.post{color:#15803d}.put,.patch{color:#b45309}.delete{color:#b91c1c}",
  ".path{font-family:monospace}.lock{color:#6b7280;font-size:.85em}.desc{white-space:pre-wrap}",
  "textarea{width:100%;min-height:6rem;font-family:monospace;box-sizing:border-box}",
  "label.p{display:block;margin:.3rem 0}label.p input{font-family:monospace;width:24rem;max-width:100%}",
  "pre{background:#f3f4f6;padding:.5rem;overflow:auto;max-height:24rem}",
  "ul.r{font-size:.9em;padding-left:1.2rem}.status{font-weight:700}",
].join("");

// Plain ES2020 with DOM methods only (no innerHTML): text from the document is never parsed as markup.
const SCRIPT = `
"use strict";
const $ = (tag, props, ...children) => {
  const el = document.createElement(tag);
  Object.assign(el, props || {});
  for (const c of children) if (c != null) el.append(c);
  return el;
};
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("docs-token") || "";
tokenInput.addEventListener("input", () => sessionStorage.setItem("docs-token", tokenInput.value.trim()));
const setToken = (t) => { tokenInput.value = t; sessionStorage.setItem("docs-token", t); };

let spec;
const resolve = (node) => {
  while (node && node.$ref) node = node.$ref.slice(2).split("/").reduce((n, k) => n[k], spec);
  return node || {};
};
const example = (schema, depth) => {
  const s = resolve(schema);
  if (depth > 4) return null;
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => example(x, depth + 1)));
  if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.default !== undefined) return s.default;
  if (s.type === "object") {
    const out = {};
    for (const k of s.required || []) out[k] = example(s.properties[k], depth + 1);
    return out;
  }
  if (s.type === "array") return [];
  if (s.type === "integer" || s.type === "number") return s.minimum || 0;
  if (s.type === "boolean") return false;
  return "";
};

const operation = (method, path, op) => {
  const params = (op.parameters || []).map((p) => {
    const input = $("input", { name: p.name, placeholder: p.schema && p.schema.type || "" });
    return { p, input, label: $("label", { className: "p" }, p.in + " " + p.name + (p.required ? " *" : "") + " ", input) };
  });
  const bodySchema = op.requestBody && op.requestBody.content["application/json"].schema;
  const body = bodySchema && $("textarea", { value: JSON.stringify(example(bodySchema, 0), null, 2) });
  const out = $("pre", { hidden: true });
  const send = $("button", { type: "button", textContent: "Send" });
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const { p, input } of params) {
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(input.value));
      else if (input.value !== "") query.set(p.name, input.value);
    }
    if (query.size) url += "?" + query;
    const headers = {};
    if (tokenInput.value) headers.Authorization = "Bearer " + tokenInput.value;
    if (body) headers["Content-Type"] = "application/json";
    out.hidden = false;
    out.textContent = method.toUpperCase() + " " + url + " …";
    try {
      const res = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await res.text();
      let shown = text;
      try {
        const json = JSON.parse(text);
        shown = JSON.stringify(json, null, 2);
        if (json.data && json.data.accessToken) setToken(json.data.accessToken);
      } catch {}
      out.textContent = res.status + " " + res.statusText + "  X-Request-Id: " + res.headers.get("X-Request-Id") + "\\n\\n" + shown;
    } catch (err) {
      out.textContent = "Request failed: " + err;
    }
  });
  const responses = $("ul", { className: "r" }, ...Object.entries(op.responses).map(([status, r]) =>
    $("li", {}, $("span", { className: "status", textContent: status + " " }), resolve(r).description || "")));
  return $("details", { id: op.operationId },
    $("summary", {},
      $("span", { className: "m " + method, textContent: method.toUpperCase() }),
      $("span", { className: "path", textContent: path }), " ", op.summary || "",
      op.security && op.security.length ? $("span", { className: "lock", textContent: " (token)" }) : null),
    $("p", { className: "desc", textContent: op.description || "" }),
    ...params.map((x) => x.label),
    body ? $("p", {}, "JSON body (required fields pre-filled):", body) : null,
    body ? $("details", {}, $("summary", { textContent: "Body schema" }),
      $("pre", { textContent: JSON.stringify(bodySchema, null, 2) })) : null,
    send, out, responses);
};

fetch("/openapi.json").then((r) => r.json()).then((doc) => {
  spec = doc;
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("about").textContent = doc.info.description || "";
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["Other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(method, path, op));
    }
  const main = document.getElementById("ops");
  const tagText = new Map((doc.tags || []).map((t) => [t.name, t.description]));
  main.replaceChildren(...[...byTag].filter(([, ops]) => ops.length).flatMap(([tag, ops]) =>
    [$("h2", { textContent: tag }), $("p", { textContent: tagText.get(tag) || "" }), ...ops]));
}).catch((err) => {
  document.getElementById("ops").textContent = "Could not load /openapi.json: " + err;
});
`;
