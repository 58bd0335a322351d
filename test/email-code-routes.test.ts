import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../src/auth/tokens";
import { networkOf } from "../src/http/client";
import { MAX_MAILS_PER_HOUR } from "../src/mail/quota";
import { api, login, randomIp, registerUser, type TestUser, unique, verifyEmail } from "./support/api";
import { d1Usage } from "./support/d1-usage";
import { failuresOf, rows, setFailures, suspendUser } from "./support/db";
import { expectFailure } from "./support/expect-failure";
import { emailsTo, waitForToken } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import { expectRateLimitedAfter, LIFTED_RATE_LIMITS } from "./support/rate-limit";
import { settled } from "./support/settled";

/*
 * POST /login/email-code and /login/email-code/verify from the attacker's
 * side: through the real app, with the real mail capture server, D1 and the
 * Workers rate limiters. Codes are read from the captured mail only.
 */

const SUBJECT = "Your sign-in code";
const ghostEmail = () => `${unique("ghost_")}@example.com`;
const net = (ip: string) => `net:${networkOf(ip)}`;

const requestCode = (email: string, ip = randomIp(), bindings?: Record<string, unknown>) =>
  settled("POST", "/login/email-code", { body: { email }, ip, bindings });
const verify = (email: string, code: string, ip = randomIp(), bindings?: Record<string, unknown>) =>
  settled("POST", "/login/email-code/verify", { body: { email, code }, ip, bindings });

const codeMails = async (email: string) => (await emailsTo(email)).filter((m) => m.subject === SUBJECT);

/** Asks for a code and reads it from the new code mail in the inbox (mail goes out after the response). */
async function mailedCode(email: string): Promise<string> {
  const before = (await codeMails(email)).length;
  expect((await requestCode(email)).status).toBe(200);
  const mails = await codeMails(email);
  const code =
    mails.length === before + 1 ? /sign-in code is (\d{6})\./.exec(mails.at(-1)?.text ?? "")?.[1] : undefined;
  if (!code) throw new Error(`no new code mail to ${email}`);
  return code;
}

/** A six-digit code that is not `code`. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

/** An account whose owner confirmed the address through the emailed link (signed in, as N1 requires). */
async function verifiedUser(): Promise<TestUser> {
  const user = await registerUser();
  const token = await waitForToken(user.email, "/verify-email");
  expect((await verifyEmail(await login(user), token)).status).toBe(200);
  // The tests count the sessions their own sign-ins make: the one used to verify is not theirs.
  await env.DB.prepare("delete from sessions where user_id = ?").bind(user.id).run();
  return user;
}

const liveSessions = async (userId: string) =>
  (await rows("select id from sessions where user_id = ? and revoked_at is null", userId)).length;

describe("POST /login/email-code", () => {
  it("answers a known, an unknown and a suspended address alike: status, body and D1 round trips", async () => {
    const [known, suspended] = await Promise.all([verifiedUser(), verifiedUser()]);
    await suspendUser(suspended.id);
    const answers = [
      await requestCode(known.email),
      await requestCode(ghostEmail()),
      await requestCode(suspended.email),
    ];
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual(answers[0]?.body);
      expect(d1Usage(res)).toEqual(d1Usage(answers[0] as never));
    }
    // Only the real, active account is mailed, and the code is in the body, not in a link or the subject.
    const [mail] = await codeMails(known.email);
    expect(mail?.text).toMatch(/Your sign-in code is \d{6}\. It works once and expires in 10 minutes\./);
    expect(mail?.text).not.toMatch(/https?:\/\//);
    expect(mail?.html).not.toMatch(/href=/);
    expect(mail?.subject).not.toMatch(/\d/);
    expect(await codeMails(suspended.email)).toEqual([]);
  });

  it(`mails at most ${MAX_MAILS_PER_HOUR} codes for 20 parallel requests, answering 200 to all`, async () => {
    const user = await verifiedUser();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => requestCode(user.email, randomIp(), LIFTED_RATE_LIMITS)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(await codeMails(user.email)).toHaveLength(MAX_MAILS_PER_HOUR);
  });

  it("is limited per email address from any number of IPs, and per client IP", async () => {
    const email = ghostEmail();
    await expectRateLimitedAfter(10, () => api("POST", "/login/email-code", { body: { email }, ip: randomIp() }));
    const ip = randomIp();
    await expectRateLimitedAfter(30, () => api("POST", "/login/email-code", { body: { email: ghostEmail() }, ip }));
  });

  it("refuses malformed bodies", async () => {
    for (const body of [{}, { email: "not-an-email" }, { email: ghostEmail(), extra: 1 }])
      expectFailure(await api("POST", "/login/email-code", { body }), 400, "VALIDATION_ERROR");
  });
});

describe("POST /login/email-code/verify", () => {
  it("signs in with the mailed code once, with the usual login answer, whatever the case of the address", async () => {
    const user = await verifiedUser();
    const code = await mailedCode(user.email);
    const res = await verify(user.email.toUpperCase(), code);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ tokenType: "Bearer", user: { id: user.id, emailVerified: true } });
    expect((await api("GET", "/me", { token: res.body.data.accessToken })).status).toBe(200);
    expect(await rows("select amr from sessions where user_id = ? and revoked_at is null", user.id)).toEqual([
      { amr: "email" },
    ]);
    // Replayed: refused.
    expectFailure(await verify(user.email, code), 401, "INVALID_EMAIL_CODE");
    // The password still works: a verified account is left as it is.
    expect((await api("POST", "/login", { body: { email: user.email, password: user.password } })).status).toBe(200);
  });

  it("refuses the right code after five wrong ones, malformed ones included", async () => {
    const user = await verifiedUser();
    const code = await mailedCode(user.email);
    for (const attempt of [wrong(code), "12345", "abcdef", ` ${code}`, wrong(wrong(code))])
      expectFailure(await verify(user.email, attempt), 401, "INVALID_EMAIL_CODE");
    expectFailure(await verify(user.email, code), 401, "INVALID_EMAIL_CODE");
    expect(await liveSessions(user.id)).toBe(0);
  });

  it("lets exactly one of parallel requests with the right code sign in", async () => {
    const user = await verifiedUser();
    const code = await mailedCode(user.email);
    const results = await Promise.all(Array.from({ length: 6 }, () => verify(user.email, code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expectFailure(r, 401, "INVALID_EMAIL_CODE");
    expect(await liveSessions(user.id)).toBe(1);
  });

  it("refuses an expired code", async () => {
    const user = await verifiedUser();
    const code = await mailedCode(user.email);
    // Ten minutes later, as far as the stored code is concerned.
    await env.DB.prepare("update email_login_codes set expires_at = ? where email_hash = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), await sha256Hex(user.email))
      .run();
    expectFailure(await verify(user.email, code), 401, "INVALID_EMAIL_CODE");
  });

  it("refuses a code for address A sent with address B, and A's code still works afterwards", async () => {
    const [alice, bob] = await Promise.all([verifiedUser(), verifiedUser()]);
    const code = await mailedCode(alice.email);
    expectFailure(await verify(bob.email, code), 401, "INVALID_EMAIL_CODE");
    expect(await liveSessions(bob.id)).toBe(0);
    expect((await verify(alice.email, code)).status).toBe(200);
  });

  it("answers an unknown address like a wrong code", async () => {
    expectFailure(await verify(ghostEmail(), "123456"), 401, "INVALID_EMAIL_CODE");
  });

  it("counts every failure toward the lockout, refuses a locked network even the right code, and a success clears it", async () => {
    const user = await verifiedUser();
    const [ip, other] = [randomIp(), randomIp()];
    const code = await mailedCode(user.email);
    expectFailure(await verify(user.email, wrong(code), ip), 401, "INVALID_EMAIL_CODE");
    expect(await failuresOf(user.email)).toEqual({ account: 1, [net(ip)]: 1 });
    await setFailures(user.email, net(ip), 10);
    const locked = await verify(user.email, code, ip);
    expectFailure(locked, 429, "ACCOUNT_LOCKED");
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
    // The code was not even looked at from the locked network: it still works from another one.
    expect((await verify(user.email, code, other)).status).toBe(200);
    expect((await failuresOf(user.email))[net(other)]).toBeUndefined();
    expect((await failuresOf(user.email)).account).toBeUndefined();
  });

  it("is limited per client IP", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(30, () =>
      api("POST", "/login/email-code/verify", { body: { email: ghostEmail(), code: "123456" }, ip }),
    );
  });

  it("asks an account with MFA for its second factor: the code is one factor", async () => {
    const { user, secret, session } = await enrolled();
    const token = await waitForToken(user.email, "/verify-email");
    expect((await verifyEmail(session, token)).status).toBe(200);
    const code = await mailedCode(user.email);
    const res = await verify(user.email, code);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ mfaRequired: true, methods: ["totp", "recovery_code"] });
    expect(res.body.data.accessToken).toBeUndefined();
    const second = await api("POST", "/login/mfa", {
      body: { mfaToken: res.body.data.mfaToken, code: codeNow(secret) },
    });
    expect(second.status).toBe(200);
    expect(second.body.data.accessToken).toEqual(expect.any(String));
    // The session records what it rests on: the email code, then TOTP (not a password).
    const amrs = await rows("select amr from sessions where user_id = ? and revoked_at is null", user.id);
    expect(amrs.map((r) => r.amr).sort()).toEqual(["email,otp", "pwd"]); // the enrolling session, and this one
  });

  it("refuses a suspended account like /login, even with a code mailed before the suspension", async () => {
    const user = await verifiedUser();
    const code = await mailedCode(user.email);
    await suspendUser(user.id);
    expectFailure(await verify(user.email, code), 403, "ACCOUNT_SUSPENDED");
    expect(await liveSessions(user.id)).toBe(0);
  });

  it("refuses malformed bodies", async () => {
    for (const body of [{}, { email: ghostEmail() }, { email: "x", code: "123456" }, { code: "123456" }])
      expectFailure(await api("POST", "/login/email-code/verify", { body }), 400, "VALIDATION_ERROR");
  });
});

describe("logs", () => {
  it("never carry the code or the address, when it is asked for, mailed, or tried right and wrong", async () => {
    const user = await verifiedUser();
    const lines: string[] = [];
    const spies = (["log", "info", "warn", "error"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      }),
    );
    let code = "";
    try {
      code = await mailedCode(user.email);
      expectFailure(await verify(user.email, wrong(code)), 401, "INVALID_EMAIL_CODE");
      expect((await verify(user.email, code)).status).toBe(200);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(lines.some((l) => l.includes('"event":"mail_sent"'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(code);
      expect(line.toLowerCase()).not.toContain(user.email.toLowerCase());
    }
  });
});

describe("EMAIL_CODE_LOGIN=false", () => {
  const OFF = { EMAIL_CODE_LOGIN: "false" };

  it("answers both routes 404 NOT_FOUND, mails nothing and refuses a code issued before", async () => {
    const user = await verifiedUser();
    const code = await mailedCode(user.email);
    expectFailure(await requestCode(user.email, randomIp(), OFF), 404, "NOT_FOUND");
    expect(await codeMails(user.email)).toHaveLength(1);
    expectFailure(await verify(user.email, code, randomIp(), OFF), 404, "NOT_FOUND");
    expect(await liveSessions(user.id)).toBe(0);
    // Switched back on, the code was never tried.
    expect((await verify(user.email, code)).status).toBe(200);
  });

  it("leaves both routes documented in /openapi.json", async () => {
    const doc = await api("GET", "/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/login/email-code", "/login/email-code/verify"]),
    );
  });
});

describe("pre-account takeover", () => {
  it("the mailbox owner's code takes the account back: password, pending email, sessions and TOTP of the squatter go", async () => {
    // The squatter registers the victim's address with their own password and keeps a session.
    // (TOTP now needs a verified email: this is an account the previous release let enrol unverified.)
    const { user: squatter, session } = await enrolled();
    await env.DB.prepare("update users set email_verified_at = null where id = ?").bind(squatter.id).run();
    await env.DB.prepare("update users set pending_email = ?, pending_email_expires_at = ? where id = ?")
      .bind(`${unique("attacker_")}@example.com`, new Date(Date.now() + 3_600_000).toISOString(), squatter.id)
      .run();

    // The victim, who owns the mailbox, signs in with a code: no TOTP step, it was the squatter's.
    const code = await mailedCode(squatter.email);
    const res = await verify(squatter.email, code);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      tokenType: "Bearer",
      user: { id: squatter.id, emailVerified: true, mfaEnabled: false, pendingEmail: null },
    });

    expectFailure(await api("GET", "/me", { token: session.accessToken }), 401, "UNAUTHORIZED");
    expectFailure(
      await api("POST", "/refresh", { body: { refreshToken: session.refreshToken } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expectFailure(
      await api("POST", "/login", { body: { email: squatter.email, password: squatter.password } }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect(
      await rows("select has_password, mfa_enabled_at, email_verified_at from users where id = ?", squatter.id),
    ).toEqual([{ has_password: 0, mfa_enabled_at: null, email_verified_at: expect.any(String) }]);
    expect(await rows("select user_id from totp_credentials where user_id = ?", squatter.id)).toEqual([]);
    // The victim's own session works, and it is the only one.
    expect((await api("GET", "/me", { token: res.body.data.accessToken })).status).toBe(200);
    expect(await liveSessions(squatter.id)).toBe(1);
    expect(
      await rows("select actor_id from audit_events where target_id = ? and action = 'account_reclaimed'", squatter.id),
    ).toEqual([{ actor_id: squatter.id }]);
  });

  it("lets the owner set a password of their own afterwards with /forgot-password", async () => {
    const squatter = await registerUser();
    expect((await verify(squatter.email, await mailedCode(squatter.email))).status).toBe(200);
    expect((await api("POST", "/forgot-password", { body: { email: squatter.email } })).status).toBe(200);
    const token = await waitForToken(squatter.email, "/reset-password");
    const password = "the-owners-own-password-7";
    expect((await api("POST", "/reset-password", { body: { token, password } })).status).toBe(200);
    expect((await api("POST", "/login", { body: { email: squatter.email, password } })).status).toBe(200);
  });

  it("leaves a verified account's password and sessions alone", async () => {
    const user = await verifiedUser();
    const session = await login(user);
    const code = await mailedCode(user.email);
    expect((await verify(user.email, code)).status).toBe(200);
    expect((await api("GET", "/me", { token: session.accessToken })).status).toBe(200);
    expect(
      await rows("select action from audit_events where target_id = ? and action = 'account_reclaimed'", user.id),
    ).toEqual([]);
  });
});
