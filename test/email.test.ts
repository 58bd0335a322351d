import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { escapeHtml, passwordResetEmail } from "../src/mail/templates";
import {
  type ApiResponse,
  api,
  login,
  randomIp,
  registerAndLogin,
  registerUser,
  STRONG_PASSWORD,
  type TestUser,
  unique,
  verifyEmail,
} from "./support/api";
import { failuresOf, setFailures } from "./support/db";
import { emailsTo, tokenFrom, waitForEmail } from "./support/mailbox";
import { settled } from "./support/settled";

const NEW_PASSWORD = "new-staple-orbit-42";

function expectError(res: ApiResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
}

const sha256Hex = async (value: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");

/** The KV key a token must live under: its SHA-256, never the token itself. */
const kvKey = async (purpose: "reset" | "verify", token: string) => `email-token:${purpose}:${await sha256Hex(token)}`;

async function kvExpiration(key: string): Promise<number | undefined> {
  const { keys } = await env.KV.list({ prefix: key });
  return keys.find((k) => k.name === key)?.expiration;
}

const auditCount = async (userId: string, action: string) =>
  (
    await env.DB.prepare("select count(*) as n from audit_events where target_id = ? and action = ?")
      .bind(userId, action)
      .first<{ n: number }>()
  )?.n;

/** Registers a user (which mails a verification link) and returns that link's token. */
async function registerWithVerificationToken() {
  const user = await registerUser();
  return { user, token: tokenFrom(await waitForEmail(user.email)) };
}

const RESET_SUBJECT = "Reset your password";

const emailsWithSubject = async (address: string, subject: string) =>
  (await emailsTo(address)).filter((m) => m.subject === subject);

/** Waits for the `nth` email with this subject to an address (mail goes out after the response). */
async function waitForMail(address: string, subject: string, nth = 1) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const match = (await emailsWithSubject(address, subject))[nth - 1];
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no email #${nth} "${subject}" to ${address}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Asks for a reset email and returns the token of the `nth` reset email the address has received. */
async function resetTokenFor(user: TestUser, nth: number) {
  expect((await api("POST", "/forgot-password", { body: { email: user.email } })).status).toBe(200);
  return tokenFrom(await waitForMail(user.email, RESET_SUBJECT, nth));
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("verification email", () => {
  it("is sent on registration through the mail API with the configured key, and its link verifies once", async () => {
    const user = await registerUser();
    const email = await waitForEmail(user.email);
    expect(email.authorization).toBe(`Bearer ${env.MAIL_API_KEY}`);
    expect(email).toMatchObject({ from: "Tests <tests@example.com>", to: [user.email] });
    expect(email.subject).toBe("Confirm your email address");
    const token = tokenFrom(email);
    expect(email.text).toContain(`https://api.test/verify-email?token=${token}`);
    expect(email.html).toContain(`href="https://api.test/verify-email?token=${token}"`);
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url

    // Stored under its hash only, expiring after VERIFY_TOKEN_TTL (86400 s by default).
    expect(await env.KV.get(token)).toBeNull();
    const expiration = await kvExpiration(await kvKey("verify", token));
    const now = Date.now() / 1000;
    expect(expiration).toBeGreaterThan(now + 86400 - 120);
    expect(expiration).toBeLessThanOrEqual(now + 86400 + 1);

    const session = await login(user);
    const verified = await verifyEmail(session, token);
    expect(verified.status).toBe(200);
    expect(verified.body.data.user).toMatchObject({ id: user.id, emailVerified: true });
    expect(await auditCount(user.id, "email_verified")).toBe(1);
    expect((await api("GET", "/me", { token: session.accessToken })).body.data.user.emailVerified).toBe(true);

    expectError(await verifyEmail(session, token), 400, "INVALID_TOKEN");
  });

  it("GET /verify-email serves a strict-CSP page and consumes nothing", async () => {
    const { user, token } = await registerWithVerificationToken();
    for (let i = 0; i < 2; i++) {
      const page = await api("GET", `/verify-email?token=${token}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
      expect(page.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(page.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'; script-src 'nonce-/);
      expect(page.body).not.toContain(token);
    }
    expect(await env.KV.get(await kvKey("verify", token))).not.toBeNull();
    expect((await verifyEmail(await login(user), token)).body.data.user).toMatchObject({
      id: user.id,
      emailVerified: true,
    });
  });

  it("refuses a verification token once the account's email has changed", async () => {
    const { user, token } = await registerWithVerificationToken();
    const session = await login(user);
    await env.DB.prepare("update users set email = ? where id = ?")
      .bind(`${unique("moved_")}@example.com`, user.id)
      .run();
    expectError(await verifyEmail(session, token), 400, "INVALID_TOKEN");
  });

  it("refuses unknown and malformed tokens, and requires one", async () => {
    const session = await registerAndLogin();
    expectError(await verifyEmail(session, "x".repeat(43)), 400, "INVALID_TOKEN");
    const bearer = { token: session.accessToken };
    expectError(await api("POST", "/verify-email", { ...bearer, body: {} }), 400, "VALIDATION_ERROR");
    expectError(await api("POST", "/verify-email", { ...bearer, body: { token: "" } }), 400, "VALIDATION_ERROR");
  });

  it("resend-verification mails a fresh link while unverified and is a no-op once verified", async () => {
    const session = await registerAndLogin();
    const address = session.user.email;
    await waitForEmail(address, 1);
    expectError(await api("POST", "/resend-verification"), 401, "UNAUTHORIZED");

    const resent = await api("POST", "/resend-verification", { token: session.accessToken });
    expect(resent.status).toBe(200);
    const second = await waitForEmail(address, 2);
    expect((await verifyEmail(session, tokenFrom(second))).status).toBe(200);

    const noop = await settled("POST", "/resend-verification", { token: session.accessToken });
    expect(noop.status).toBe(200);
    expect(noop.body.message).toMatch(/already verified/i);
    expect(await emailsTo(address)).toHaveLength(2);
  });

  it("with REQUIRE_EMAIL_VERIFICATION on, signs the registrant in with a session that only gets verified, then unlocks it", async () => {
    const bindings = { REQUIRE_EMAIL_VERIFICATION: "true" };
    const { user, token } = await registerWithVerificationToken();
    const credentials = { email: user.email, password: user.password };
    // A wrong password learns nothing about the verification state.
    expectError(
      await settled("POST", "/login", { body: { ...credentials, password: NEW_PASSWORD }, bindings }),
      401,
      "INVALID_CREDENTIALS",
    );
    const signedIn = await settled("POST", "/login", { body: credentials, bindings });
    expect(signedIn.body.data.user.emailVerified).toBe(false);
    const accessToken = signedIn.body.data.accessToken as string;
    expectError(await settled("GET", "/posts", { token: accessToken, bindings }), 403, "EMAIL_NOT_VERIFIED");
    const verified = await settled("POST", "/verify-email", { token: accessToken, body: { token }, bindings });
    expect(verified.body.data.user.emailVerified).toBe(true);
    // The same session now reaches everything.
    expect((await settled("GET", "/posts", { token: accessToken, bindings })).status).toBe(200);
  });
});

describe("password reset", () => {
  it("forgot → email → reset: old password and sessions die, the token works once", async () => {
    const session = await registerAndLogin();
    const { user } = session;
    const forgot = await api("POST", "/forgot-password", { body: { email: user.email.toUpperCase() } });
    expect(forgot.status).toBe(200);
    const email = await waitForMail(user.email, RESET_SUBJECT);
    expect(email.authorization).toBe(`Bearer ${env.MAIL_API_KEY}`);
    const token = tokenFrom(email);
    expect(email.text).toContain(`https://api.test/reset-password?token=${token}`);

    // Stored hashed, expiring after RESET_TOKEN_TTL (1800 s).
    expect(await env.KV.get(token)).toBeNull();
    const expiration = await kvExpiration(await kvKey("reset", token));
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + 1800 - 120);
    expect(expiration).toBeLessThanOrEqual(Date.now() / 1000 + 1800 + 1);

    // A rejected new password leaves the link usable.
    const weak = await api("POST", "/reset-password", { body: { token, password: "short" } });
    expectError(weak, 400, "VALIDATION_ERROR");

    const reset = await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } });
    expect(reset.status).toBe(200);
    expect(await auditCount(user.id, "password_reset")).toBe(1);

    expectError(
      await api("POST", "/login", { body: { email: user.email, password: user.password } }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect((await api("POST", "/login", { body: { email: user.email, password: NEW_PASSWORD } })).status).toBe(200);
    expectError(
      await api("POST", "/reset-password", { body: { token, password: "another-fine-phrase-7" } }),
      400,
      "INVALID_TOKEN",
    );
    expectError(
      await api("POST", "/refresh", { body: { refreshToken: session.refreshToken } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expectError(await api("GET", "/me", { token: session.accessToken }), 401, "UNAUTHORIZED");
  });

  it("clears every lock and slow-down of the email, so a locked-out owner always has a way in", async () => {
    const user = await registerUser();
    const ip = randomIp();
    await setFailures(user.email, `net:${ip}`, 10);
    await setFailures(user.email, "account", 25);
    const loginFrom = (password: string) => api("POST", "/login", { body: { email: user.email, password }, ip });
    expectError(await loginFrom(user.password), 429, "ACCOUNT_LOCKED");
    const token = await resetTokenFor(user, 1);
    expect((await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } })).status).toBe(200);
    expect(await failuresOf(user.email)).toEqual({});
    expect((await loginFrom(NEW_PASSWORD)).status).toBe(200);
  });

  it("refuses a reset token still in KV once the password has changed through another token", async () => {
    const user = await registerUser();
    const first = await resetTokenFor(user, 1);
    const second = await resetTokenFor(user, 2);
    expect((await api("POST", "/reset-password", { body: { token: first, password: NEW_PASSWORD } })).status).toBe(200);

    // As in a location where KV has not yet seen a deletion: the record is there, the binding is stale.
    expect(await env.KV.get(await kvKey("reset", second))).not.toBeNull();
    const replay = await api("POST", "/reset-password", { body: { token: second, password: "attacker-chosen-pw-1" } });
    expectError(replay, 400, "INVALID_TOKEN");
    expect((await api("POST", "/login", { body: { email: user.email, password: NEW_PASSWORD } })).status).toBe(200);
  });

  it("refuses a reset token issued before a change through /me/password", async () => {
    const session = await registerAndLogin();
    const token = await resetTokenFor(session.user, 1);
    const change = await api("POST", "/me/password", {
      token: session.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(change.status).toBe(200);
    expect(await env.KV.get(await kvKey("reset", token))).not.toBeNull();
    expectError(
      await api("POST", "/reset-password", { body: { token, password: "attacker-chosen-pw-1" } }),
      400,
      "INVALID_TOKEN",
    );
  });

  it("lets exactly one of two simultaneous resets with the same token through", async () => {
    const user = await registerUser();
    const token = await resetTokenFor(user, 1);
    const results = await Promise.all(
      ["racing-password-one-1", "racing-password-two-2"].map((password) =>
        api("POST", "/reset-password", { body: { token, password } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(await auditCount(user.id, "password_reset")).toBe(1);
  });

  /**
   * KV's own TTL cannot be fast-forwarded in a test, so this checks both halves
   * honestly: the KV entry carries RESET_TOKEN_TTL as its expiration (asserted
   * above), and the token store refuses a record past its own expiry, shown by
   * moving the Worker's clock (the test and the Worker share one isolate).
   */
  it("refuses an expired reset token", async () => {
    const user = await registerUser();
    const token = await resetTokenFor(user, 1);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 1801 * 1000);
    expectError(
      await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } }),
      400,
      "INVALID_TOKEN",
    );
    vi.useRealTimers();
    // The same token was refused only because of the clock.
    expect((await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } })).status).toBe(200);
  });

  it("answers an unknown email exactly like a known one and mails nothing", async () => {
    const known = await registerUser();
    const unknown = `${unique("nobody_")}@example.com`;
    const forKnown = await settled("POST", "/forgot-password", { body: { email: known.email } });
    const forUnknown = await settled("POST", "/forgot-password", { body: { email: unknown } });
    expect(forUnknown.status).toBe(200);
    expect(forUnknown.body).toEqual(forKnown.body);
    expect(await emailsTo(unknown)).toHaveLength(0);
    expect(await emailsWithSubject(known.email, RESET_SUBJECT)).toHaveLength(1);
  });

  it("sends at most 3 reset emails per address per hour, answering the same each time", async () => {
    const user = await registerUser();
    const bodies: unknown[] = [];
    for (let i = 0; i < 5; i++)
      bodies.push((await settled("POST", "/forgot-password", { body: { email: user.email } })).body);
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(await emailsWithSubject(user.email, RESET_SUBJECT)).toHaveLength(3);
  });

  it("refuses unknown tokens and requires a token and a password", async () => {
    expectError(
      await api("POST", "/reset-password", { body: { token: "nope", password: NEW_PASSWORD } }),
      400,
      "INVALID_TOKEN",
    );
    expectError(await api("POST", "/reset-password", { body: { password: NEW_PASSWORD } }), 400, "VALIDATION_ERROR");
    expectError(await api("POST", "/forgot-password", { body: { email: "not-an-email" } }), 400, "VALIDATION_ERROR");
  });

  it("GET /reset-password serves a nonce-CSP page that keeps the token out of the HTML and consumes nothing", async () => {
    const user = await registerUser();
    const token = await resetTokenFor(user, 1);
    const page = await api("GET", `/reset-password?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(page.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(page.headers.get("Cache-Control")).toBe("no-store");
    const csp = page.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    expect(page.body).not.toContain(token);
    expect(page.body).not.toMatch(/<(link|img|iframe)\b|src="http/); // no external assets

    const again = await api("GET", `/reset-password?token=${token}`);
    expect(/script-src 'nonce-([^']+)'/.exec(again.headers.get("Content-Security-Policy") ?? "")?.[1]).not.toBe(nonce);
    expect((await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } })).status).toBe(200);
  });
});

describe("mail delivery", () => {
  it("a mail API answering 500 fails no request and is logged with the request id, never the key", async () => {
    const errors = vi.spyOn(console, "error");
    const address = `${unique("mail-fails-")}@example.com`;
    const registered = await settled("POST", "/register", {
      body: { username: unique("user_"), email: address, password: STRONG_PASSWORD },
    });
    expect(registered.status).toBe(201);
    expect(await emailsTo(address)).toHaveLength(1); // the capture saw it, then answered 500
    const lines = errors.mock.calls.map((args) => String(args[0]));
    const failure = lines.find(
      (l) => l.includes('"mail_failed"') && l.includes(registered.headers.get("X-Request-Id")!),
    );
    expect(failure).toContain("mail API answered 500");
    for (const line of lines) expect(line).not.toContain(env.MAIL_API_KEY);

    expect((await settled("POST", "/forgot-password", { body: { email: address } })).status).toBe(200);
  });

  it("a mail API that never answers does not hold up the response", async () => {
    // Not awaiting waitUntil: these return as soon as the handler does, while the send waits on its own timeout.
    const address = `${unique("mail-hangs-")}@example.com`;
    const registered = await api("POST", "/register", {
      body: { username: unique("user_"), email: address, password: STRONG_PASSWORD },
    });
    expect(registered.status).toBe(201);
    expect((await api("POST", "/forgot-password", { body: { email: address } })).status).toBe(200);
  });

  it("the console provider prints the message with its link and calls no mail API", async () => {
    const logs = vi.spyOn(console, "log");
    const user = await registerUser();
    await waitForEmail(user.email, 1); // the verification email, before switching providers
    const res = await settled("POST", "/forgot-password", {
      body: { email: user.email },
      bindings: { MAIL_PROVIDER: "console" },
    });
    expect(res.status).toBe(200);
    const printed = logs.mock.calls.map((args) => String(args[0])).find((l) => l.includes(`To:      ${user.email}`));
    expect(printed).toMatch(/Link: +https:\/\/api\.test\/reset-password\?token=[A-Za-z0-9_-]{43}/);
    expect(await emailsTo(user.email)).toHaveLength(1);
  });
});

describe("HTML escaping in emails", () => {
  // Templates interpolate no user-chosen text at all (see "mail to unproven addresses"), only our own
  // link, which is still escaped in case a future template or APP_URL carries markup.
  it("escapes markup in every interpolated value of a template", () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'q'`)).toBe(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;",
    );
    const message = passwordResetEmail(
      `a"><svg onload=alert(1)>@x.test`,
      `https://app.test/reset-password?token=abc"><b>`,
      1800,
    );
    expect(message.html).not.toMatch(/<svg|<b>|"><|onload=alert/);
    expect(message.html).toContain("token=abc&quot;&gt;&lt;b&gt;");
  });

  it("keeps an address with an apostrophe out of the body of the verification email it receives", async () => {
    const address = `o'${unique("neil_")}@example.com`;
    const user = await registerUser({ email: address });
    const email = await waitForEmail(user.email);
    expect(email.to).toEqual([user.email]);
    expect(email.html).not.toContain(address);
    expect(email.text).not.toContain(address);
  });
});

describe("POST /me/password", () => {
  it("changes the password, replaces the caller's session with a new one and revokes every other", async () => {
    const here = await registerAndLogin();
    const elsewhere = await login(here.user);
    const res = await api("POST", "/me/password", {
      token: here.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(res.status).toBe(200);
    expect(await auditCount(here.user.id, "password_change")).toBe(1);

    // The caller stays signed in on the new tokens; the old session is gone (L2).
    expect((await api("GET", "/me", { token: res.body.data.accessToken })).status).toBe(200);
    expect((await api("POST", "/refresh", { body: { refreshToken: res.body.data.refreshToken } })).status).toBe(200);
    expectError(await api("GET", "/me", { token: here.accessToken }), 401, "UNAUTHORIZED");
    expectError(await api("GET", "/me", { token: elsewhere.accessToken }), 401, "UNAUTHORIZED");
    expectError(
      await api("POST", "/refresh", { body: { refreshToken: elsewhere.refreshToken } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expectError(
      await api("POST", "/login", { body: { email: here.user.email, password: STRONG_PASSWORD } }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect((await api("POST", "/login", { body: { email: here.user.email, password: NEW_PASSWORD } })).status).toBe(
      200,
    );
  });

  it("refuses a wrong current password, a weak new one, and anonymous callers", async () => {
    const session = await registerAndLogin();
    const wrong = await api("POST", "/me/password", {
      token: session.accessToken,
      body: { currentPassword: "not-the-password-1", newPassword: NEW_PASSWORD },
    });
    expectError(wrong, 401, "INVALID_CREDENTIALS");
    const weak = await api("POST", "/me/password", {
      token: session.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: "password123" },
    });
    expectError(weak, 400, "VALIDATION_ERROR");
    expect(weak.body.error.details.map((d: { path: string }) => d.path)).toContain("newPassword");
    expectError(
      await api("POST", "/me/password", { body: { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD } }),
      401,
      "UNAUTHORIZED",
    );
    expect(await auditCount(session.user.id, "password_change")).toBe(0);
    expect(
      (await api("POST", "/login", { body: { email: session.user.email, password: STRONG_PASSWORD } })).status,
    ).toBe(200);
  });
});
