import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { type ApiResponse, api, randomIp, registerAndLogin, registerUser, type TestUser, unique } from "../support/api";
import { d1Usage } from "../support/d1-usage";
import { setFailures, suspendUser } from "../support/db";
import { expectFailure } from "../support/expect-failure";

/*
 * Account enumeration: whoever does not hold an account's password must not
 * learn from login or forgot-password whether the account exists. Each pair
 * below is compared on everything a client observes except what differs per
 * request (request id, D1 bookmark, durations): status, body, headers, and
 * the D1 round trips and statements the Worker reports in Server-Timing, which
 * are what would make one answer measurably slower than the other. Times
 * themselves are measured by `npm run measure:enumeration`, not asserted.
 * (login.test.ts compares an unknown email with a wrong password.)
 */

/** What a client can observe of a response, minus what differs per request. */
const observable = (res: ApiResponse) => ({
  status: res.status,
  body: res.body,
  headers: Object.fromEntries(
    [...res.headers]
      .filter(([name]) => name !== "x-request-id" && name !== "x-d1-bookmark")
      .map(([name, value]) => [name, value.replace(/dur=[\d.]+/g, "dur=")]),
  ),
  d1: d1Usage(res),
});

const unknownEmail = () => `${unique("ghost_")}@example.com`;
const forgot = (email: string) => api("POST", "/forgot-password", { body: { email } });
const wrongLogin = (email: string) => api("POST", "/login", { body: { email, password: "not-the-password-1" } });
const wrongLoginFrom = (email: string, ip: string) =>
  api("POST", "/login", { body: { email, password: "not-the-password-1" }, ip });

describe("POST /forgot-password", () => {
  it("answers an existing and an unknown email identically, with the same D1 work", async () => {
    const user = await registerUser();
    const [known, unknown] = [await forgot(user.email), await forgot(unknownEmail())];
    expect(known.status).toBe(200);
    expect(observable(unknown)).toEqual(observable(known));
  });

  it("answers identically for an address in another case and with spaces", async () => {
    const user = await registerUser();
    const known = await forgot(` ${user.email.toUpperCase()} `);
    expect(observable(await forgot(unknownEmail().toUpperCase()))).toEqual(observable(known));
  });

  it("answers identically for a suspended account", async () => {
    const user = await registerUser();
    await suspendUser(user.id);
    expect(observable(await forgot(unknownEmail()))).toEqual(observable(await forgot(user.email)));
  });

  it("answers identically once an address has used up its hourly reset emails", async () => {
    const user = await registerUser();
    for (let i = 0; i < 3; i++) expect((await forgot(user.email)).status).toBe(200);
    expect(observable(await forgot(unknownEmail()))).toEqual(observable(await forgot(user.email)));
  });
});

describe("POST /login, beyond an unknown email against a wrong password", () => {
  it("a wrong password for a suspended account looks like an unknown email", async () => {
    const user = await registerUser();
    await suspendUser(user.id);
    expect(observable(await wrongLogin(unknownEmail()))).toEqual(observable(await wrongLogin(user.email)));
  });

  it("a locked-out real account and a locked-out unknown email answer alike, from the same network", async () => {
    const user = await registerUser();
    const ghost = unknownEmail();
    const ip = randomIp();
    for (const email of [user.email, ghost]) await setFailures(email, `net:${ip}`, 9);
    const lockingKnown = await wrongLoginFrom(user.email, ip);
    const lockingUnknown = await wrongLoginFrom(ghost, ip);
    expectFailure(lockingKnown, 401, "INVALID_CREDENTIALS");
    expect(observable(lockingUnknown)).toEqual(observable(lockingKnown));
    // The right password of the real account is refused like any guess for the unknown one.
    const known = await api("POST", "/login", { body: { email: user.email, password: user.password }, ip });
    const unknown = await wrongLoginFrom(ghost, ip);
    expectFailure(known, 429, "ACCOUNT_LOCKED");
    expect(observable(unknown)).toEqual(observable(known));
  });

  it("a password over bcrypt's 72 bytes is compared like any other, for known and unknown emails", async () => {
    const user = await registerUser();
    const long = "x".repeat(100);
    const login = (email: string) => api("POST", "/login", { body: { email, password: long } });
    expect(observable(await login(unknownEmail()))).toEqual(observable(await login(user.email)));
  });

  it("with REQUIRE_EMAIL_VERIFICATION on, a wrong password for an unverified account looks like an unknown email", async () => {
    const user: TestUser = await registerUser();
    const loginWith = async (email: string) => {
      const response = await app.request(
        "/login",
        {
          method: "POST",
          headers: { "Content-Type": "application/json", "CF-Connecting-IP": randomIp() },
          body: JSON.stringify({ email, password: "not-the-password-1" }),
        },
        { ...env, REQUIRE_EMAIL_VERIFICATION: "true" },
      );
      return { status: response.status, headers: response.headers, body: await response.json() };
    };
    const known = await loginWith(user.email);
    expectFailure(known, 401, "INVALID_CREDENTIALS");
    expect(observable(await loginWith(unknownEmail()))).toEqual(observable(known));
  });
});

describe("POST /resend-verification", () => {
  it("cannot be pointed at an address: without a token any body gets the same 401, with one an email is refused", async () => {
    const user = await registerUser();
    const anonymous = (email: string) => api("POST", "/resend-verification", { body: { email } });
    const known = await anonymous(user.email);
    expect(known.status).toBe(401);
    expect(observable(await anonymous(unknownEmail()))).toEqual(observable(known));

    const s = await registerAndLogin();
    const named = await api("POST", "/resend-verification", { token: s.accessToken, body: { email: user.email } });
    expectFailure(named, 400, "VALIDATION_ERROR");
  });

  it("does the same D1 work for a verified and an unverified account (mail goes out after the response)", async () => {
    const [unverified, verified] = await Promise.all([registerAndLogin(), registerAndLogin()]);
    await env.DB.prepare("update users set email_verified_at = ? where id = ?")
      .bind(new Date().toISOString(), verified.user.id)
      .run();
    const resend = (token: string) => api("POST", "/resend-verification", { token });
    const [sent, noop] = [await resend(unverified.accessToken), await resend(verified.accessToken)];
    expect([sent.status, noop.status]).toEqual([200, 200]);
    expect(d1Usage(noop)).toEqual(d1Usage(sent));
  });
});
