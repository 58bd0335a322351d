import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/env";
import { readResponse, registerUser, unique } from "../support/api";
import { expectFailure } from "../support/expect-failure";
import { emailsTo, waitForEmail } from "../support/mailbox";
import { settled } from "../support/settled";

/*
 * Mail fails closed: production defaults to a real provider, which refuses to
 * run without its key or without APP_URL, and emailed links never come from
 * the request's Host header outside local console mode.
 */

const SECRET = { JWT_SECRET: "x".repeat(32) };

describe("mail configuration", () => {
  it("defaults to the resend provider and then requires MAIL_API_KEY, naming it", () => {
    const result = loadConfig({ ...SECRET, APP_URL: "https://app.example" } as never);
    expect(result).toEqual({ ok: false, problem: expect.stringContaining("MAIL_API_KEY") });
    const blank = loadConfig({ ...SECRET, APP_URL: "https://app.example", MAIL_API_KEY: "" } as never);
    expect(blank).toEqual({ ok: false, problem: expect.stringContaining("MAIL_API_KEY") });
  });

  it("requires APP_URL with the resend provider, naming it", () => {
    for (const APP_URL of [undefined, ""]) {
      const result = loadConfig({ ...SECRET, MAIL_PROVIDER: "resend", MAIL_API_KEY: "k", APP_URL } as never);
      expect(result).toEqual({ ok: false, problem: expect.stringContaining("APP_URL") });
    }
  });

  it("needs neither with the console provider, chosen explicitly", () => {
    expect(loadConfig({ ...SECRET, MAIL_PROVIDER: "console" } as never)).toMatchObject({ ok: true });
  });

  it("answers 503 MISCONFIGURED naming MAIL_API_KEY when MAIL_PROVIDER is unset and no key is set", async () => {
    const res = await settled("GET", "/health", { bindings: { MAIL_PROVIDER: "", MAIL_API_KEY: "" } });
    expectFailure(res, 503, "MISCONFIGURED");
    expect(res.body.message).toContain("MAIL_API_KEY");
  });

  it("answers 503 MISCONFIGURED naming APP_URL on /forgot-password, and mails nothing, when APP_URL is empty", async () => {
    const user = await registerUser();
    await waitForEmail(user.email, 1); // the verification mail of the registration
    const res = await settled("POST", "/forgot-password", {
      body: { email: user.email },
      headers: { Host: "evil.example" },
      bindings: { APP_URL: "" },
    });
    expectFailure(res, 503, "MISCONFIGURED");
    expect(res.body.message).toContain("APP_URL");
    expect(JSON.stringify(res.body)).not.toContain(env.MAIL_API_KEY);
    expect(await emailsTo(user.email)).toHaveLength(1);
  });
});

describe("emailed links", () => {
  it("point at APP_URL whatever Host or X-Forwarded-Host the request carries", async () => {
    const user = await registerUser();
    await waitForEmail(user.email, 1);
    const request = new Request("https://evil.example/forgot-password", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "CF-Connecting-IP": "10.9.9.9",
        Host: "evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "http",
      },
      body: JSON.stringify({ email: user.email }),
    });
    expect((await readResponse(await exports.default.fetch(request))).status).toBe(200);
    const email = await waitForEmail(user.email, 2);
    expect(email.text).toMatch(new RegExp(`${env.APP_URL}/reset-password\\?token=[A-Za-z0-9_-]{43}`));
    expect(email.text + email.html).not.toContain("evil.example");
  });

  it("use APP_URL without its trailing slash", async () => {
    const address = `${unique("link_")}@example.com`;
    const res = await settled("POST", "/register", {
      body: { username: unique("user_"), email: address, password: "correct-horse-battery-9" },
      bindings: { APP_URL: "https://spa.example/app/" },
    });
    expect(res.status).toBe(201);
    expect((await waitForEmail(address)).text).toContain("https://spa.example/app/verify-email?token=");
  });
});
