import { describe, expect, it } from "vitest";
import { api } from "./support/api";
import { settled } from "./support/settled";

const cspOf = (res: { headers: Headers }) => res.headers.get("Content-Security-Policy") ?? "";

describe("GET / (the index a browser lands on)", () => {
  it("names the API and links the reference, the OpenAPI document and the health check", async () => {
    const res = await api("GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.body).toContain("<title>Edge Users API · Edge Users</title>");
    for (const href of ["/docs", "/openapi.json", "/health"]) expect(res.body).toContain(`href="${href}"`);
  });

  it("runs nothing but its own nonced style, talks to nobody and cannot be framed", async () => {
    const res = await api("GET", "/");
    const csp = cspOf(res);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(res.body).toContain(`<style nonce="${nonce}">`);
    expect(res.body).not.toMatch(/<(link|img|iframe)\b|src="http/);
  });

  it("escapes APP_NAME, so a configured name cannot inject markup", async () => {
    const res = await settled("GET", "/", { bindings: { APP_NAME: `Acme "<script>alert(1)</script>` } });
    expect(res.body).not.toContain("<script>alert(1)");
    expect(res.body).toContain("Acme &#34;&#60;script&#62;alert(1)&#60;/script&#62;");
  });

  it("is only GET: other methods are 404 like any unknown route", async () => {
    expect((await api("POST", "/", { body: {} })).status).toBe(404);
  });
});

describe("emailed-link pages are branded and lead somewhere", () => {
  it("show APP_NAME on both pages", async () => {
    for (const path of ["/reset-password", "/verify-email"]) {
      const res = await settled("GET", path, { bindings: { APP_NAME: "Acme Notes" } });
      expect(res.status).toBe(200);
      expect(res.body).toContain("Acme Notes</header>");
      expect(res.body).toContain("· Acme Notes</title>");
    }
  });

  it("the reset page labels its fields and states the password rules of this deployment", async () => {
    const res = await settled("GET", "/reset-password", { bindings: { PASSWORD_MIN_LENGTH: "16" } });
    expect(res.body).toContain('<label for="password">');
    expect(res.body).toContain('<label for="confirm">');
    expect(res.body).toContain('aria-describedby="rules"');
    expect(res.body).toContain("At least 16 characters");
    expect(res.body).toContain('minlength="16"');
    expect(res.body).toContain("Not a common password");
  });

  it("the verify page signs the account's holder in first: verification needs their session (N1)", async () => {
    const res = await settled("GET", "/verify-email");
    expect(res.body).toContain('<label for="email">');
    expect(res.body).toContain('autocomplete="current-password"');
    expect(res.body).toContain('<label for="code">');
    expect(res.body).toContain("If you did not create an account, ignore the email; nothing is confirmed.");
    // It posts the token with the bearer of that sign-in, and ends the page's session afterwards.
    expect(res.body).toContain('call("/verify-email", { token }, access)');
    expect(res.body).toContain('call("/logout", {}, access)');
  });

  it("after success offer a way on: APP_URL when set, else the API's index", async () => {
    const withApp = await settled("GET", "/verify-email", { bindings: { APP_URL: "https://app.example/start" } });
    expect(withApp.body).toContain('<a class="button" href="https://app.example/start">Continue to Edge Users</a>');
    // Without APP_URL (local console mode only: a real mail provider requires it).
    const without = await settled("GET", "/reset-password", { bindings: { APP_URL: "", MAIL_PROVIDER: "console" } });
    expect(without.body).toContain('<a class="button" href="/">Continue to Edge Users</a>');
  });

  it("never turn a non-web APP_URL into a link", async () => {
    const res = await settled("GET", "/verify-email", { bindings: { APP_URL: "javascript:alert(1)" } });
    expect(res.body).not.toContain("javascript:");
    expect(res.body).toContain('href="/"');
  });

  it("keep the token out of the page even when the link carries markup", async () => {
    const token = `"><script>alert(1)</script>`;
    const res = await api("GET", `/verify-email?token=${encodeURIComponent(token)}`);
    expect(res.body).not.toContain("alert(1)");
  });
});
