import { describe, expect, it } from "vitest";
import { type ApiResponse, api, randomIp, registerUser, STRONG_PASSWORD, type TestUser, unique } from "../support/api";
import { countUsersWithEmail, suspendUser, userRowByEmail } from "../support/db";
import { detailPaths, expectFailure } from "../support/expect-failure";
import { expectRateLimitedAfter } from "../support/rate-limit";

const loginAs = (email: string, password: string, ip?: string) =>
  api("POST", "/login", { body: { email, password }, ip });
const wrongLogin = (user: TestUser) => loginAs(user.email, `${user.password}-wrong`);
const rightLogin = (user: TestUser) => loginAs(user.email, user.password);

/** A registration attempt that must be refused for `field`, leaving no account behind. */
async function expectRegistrationRefused(body: Record<string, unknown>, field: string) {
  const res = await api("POST", "/register", { body });
  expectFailure(res, 400, "VALIDATION_ERROR");
  expect(detailPaths(res)).toContain(field);
  expect(await countUsersWithEmail(String(body.email).trim().toLowerCase())).toBe(0);
}

const newIdentity = () => {
  const username = unique("acct_");
  return { username, email: `${username}@example.com` };
};

/**
 * The response headers an observer could compare between two logins: all but
 * the per-request id and D1 bookmark, with durations blanked (Server-Timing's
 * query count stays: it must not differ either).
 */
const comparableHeaders = (res: ApiResponse) =>
  Object.fromEntries(
    [...res.headers]
      .filter(([name]) => name !== "x-request-id" && name !== "x-d1-bookmark")
      .map(([name, value]) => [name, value.replace(/dur=[\d.]+/g, "dur=")]),
  );

describe("enumeration", () => {
  it("answers an unknown email and a wrong password with the same status, body and headers", async () => {
    const user = await registerUser();
    const wrong = await wrongLogin(user);
    const unknown = await loginAs(`${unique("ghost_")}@example.com`, `${user.password}-wrong`);
    expectFailure(wrong, 401, "INVALID_CREDENTIALS");
    expect(unknown.body).toEqual(wrong.body);
    expect(comparableHeaders(unknown)).toEqual(comparableHeaders(wrong));
  });

  it("does not reveal a suspended account to someone without its password", async () => {
    const user = await registerUser();
    await suspendUser(user.id);
    const unknown = await loginAs(`${unique("ghost_")}@example.com`, "whatever-password-1");
    expect((await wrongLogin(user)).body).toEqual(unknown.body);
  });
});

describe("mass assignment on /register", () => {
  const smuggled = Object.entries({
    role: "admin",
    id: crypto.randomUUID(),
    status: "active",
    emailVerified: true,
    emailVerifiedAt: new Date().toISOString(),
    passwordHash: "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
    failedLoginCount: 0,
    createdAt: "2000-01-01T00:00:00.000Z",
  });

  it.each(smuggled)("refuses %s with 400 VALIDATION_ERROR naming it, and creates nobody", async (key, value) => {
    const identity = newIdentity();
    const res = await api("POST", "/register", { body: { ...identity, password: STRONG_PASSWORD, [key]: value } });
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(JSON.stringify(res.body.error.details)).toContain(key);
    expect(await countUsersWithEmail(identity.email)).toBe(0);
  });

  it("refuses __proto__ and constructor keys and creates nobody", async () => {
    for (const key of ["__proto__", "constructor"]) {
      const identity = newIdentity();
      const rawBody = `{"username":"${identity.username}","email":"${identity.email}","password":"${STRONG_PASSWORD}","${key}":{"role":"admin"}}`;
      const res = await api("POST", "/register", { rawBody, headers: { "Content-Type": "application/json" } });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(await countUsersWithEmail(identity.email)).toBe(0);
    }
  });
});

describe("password rules", () => {
  const register = (password: string, identity = newIdentity()) =>
    api("POST", "/register", { body: { ...identity, password } });

  it("accepts exactly PASSWORD_MIN_LENGTH (12) characters and refuses 11", async () => {
    await expectRegistrationRefused({ ...newIdentity(), password: "Zq8!mW3#pL5" }, "password");
    expect((await register("Zq8!mW3#pL5x")).status).toBe(201);
  });

  it("refuses more than 72 UTF-8 bytes even when there are fewer characters, instead of truncating", async () => {
    const euro = "€"; // 3 bytes in UTF-8
    await expectRegistrationRefused({ ...newIdentity(), password: euro.repeat(25) }, "password"); // 75 bytes
    await expectRegistrationRefused({ ...newIdentity(), password: `${"Zq8!".repeat(18)}x` }, "password"); // 73 bytes

    const user = await registerUser({ password: euro.repeat(24) }); // exactly 72 bytes
    expect((await rightLogin(user)).status).toBe(200);
  });

  it("never lets a longer password log in as a 72-byte one (bcrypt ignores bytes past 72)", async () => {
    for (const password of ["Zq8!".repeat(18), "€".repeat(24)]) {
      const user = await registerUser({ password });
      expectFailure(await loginAs(user.email, `${password}zzz`), 401, "INVALID_CREDENTIALS");
      expectFailure(await loginAs(user.email, `${password}€`), 401, "INVALID_CREDENTIALS");
    }
  });

  it("does not cut a password at an embedded NUL", async () => {
    const user = await registerUser({ password: "correct\u0000horse-battery-9" });
    expectFailure(await loginAs(user.email, "correct"), 401, "INVALID_CREDENTIALS");
    expect((await rightLogin(user)).status).toBe(200);
  });

  it("refuses a common password in any case", async () => {
    for (const password of ["PasswordPassword", "password123456", "QWERTYQWERTY"]) {
      await expectRegistrationRefused({ ...newIdentity(), password }, "password");
    }
  });

  it("refuses a password equal to the username or the email, ignoring case", async () => {
    const a = newIdentity();
    await expectRegistrationRefused({ ...a, password: a.username.toUpperCase() }, "password");
    const b = newIdentity();
    await expectRegistrationRefused({ ...b, password: b.email }, "password");
    const c = newIdentity();
    await expectRegistrationRefused({ ...c, password: c.email.toUpperCase() }, "password");
  });
});

describe("username and email input", () => {
  it.each([
    ["unicode letters", "álvaro_x"],
    ["Cyrillic homoglyph", "аdmin_x"],
    ["4-byte emoji", "user😀x"],
    ["combining mark", "adme\u0301n"],
    ["RTL override", "\u202Eadmin"],
    ["NUL", "admin\u0000x"],
    ["space", "bob smith"],
    ["SQL metacharacters", "bob'; DROP TABLE users;--"],
    ["quote", 'bob"x'],
    ["too short", "ab"],
    ["too long", "a".repeat(33)],
  ])("refuses a username with %s", async (_, username) => {
    await expectRegistrationRefused(
      { username, email: `${unique("un_")}@example.com`, password: STRONG_PASSWORD },
      "username",
    );
  });

  it("stores an email with SQL metacharacters in its local part verbatim, lower-cased, and logs it in", async () => {
    const email = `O'Brien'--${unique()}+x@Example.COM`;
    const res = await api("POST", "/register", { body: { username: unique(), email, password: STRONG_PASSWORD } });
    expect(res.status).toBe(201);
    expect(res.body.data.user.email).toBe(email.toLowerCase());
    expect((await userRowByEmail(email.toLowerCase()))?.id).toBe(res.body.data.user.id);
    expect((await loginAs(email, STRONG_PASSWORD)).status).toBe(200);
  });

  it("refuses emails that are SQL rather than addresses", async () => {
    for (const email of [
      "' OR 1=1 --@example.com",
      "a@example.com'; DROP TABLE users;--",
      "a@example.com\r\nBcc: x@evil.test",
    ]) {
      await expectRegistrationRefused({ username: unique(), email, password: STRONG_PASSWORD }, "email");
    }
  });
});

describe("duplicates", () => {
  it("answers a taken email, in any case, with 409 CONFLICT naming email", async () => {
    const user = await registerUser();
    for (const email of [user.email, user.email.toUpperCase(), ` ${user.email} `]) {
      const res = await api("POST", "/register", { body: { username: unique(), email, password: STRONG_PASSWORD } });
      expectFailure(res, 409, "CONFLICT");
      expect(detailPaths(res)).toEqual(["email"]);
    }
  });

  it("answers a case variant of a taken username with 409 CONFLICT naming username, leaving the owner intact", async () => {
    const user = await registerUser({ username: unique("Case_") });
    const res = await api("POST", "/register", {
      body: {
        username: user.username.toUpperCase(),
        email: `${unique()}@example.com`,
        password: "another-strong-pass-7",
      },
    });
    expectFailure(res, 409, "CONFLICT");
    expect(detailPaths(res)).toEqual(["username"]);
    expect((await rightLogin(user)).status).toBe(200);
  });
});

// Lockout, slow-down and challenges: lockout.test.ts.

describe("rate limits", () => {
  it("limits logins from one IP (30 a minute) with 429 TOO_MANY_REQUESTS, without touching other IPs", async () => {
    const ip = randomIp();
    // Unknown, distinct emails: neither the per-email limit nor a lockout can answer instead.
    await expectRateLimitedAfter(30, () => loginAs(`${unique("ip_")}@example.com`, "some-wrong-password", ip));
    const user = await registerUser();
    expect((await rightLogin(user)).status).toBe(200);
  });

  it("limits logins for one email from one network (10 a minute), whatever its case, but not from other networks", async () => {
    const user = await registerUser();
    const ip = randomIp();
    await expectRateLimitedAfter(10, (attempt) =>
      loginAs(attempt % 2 ? user.email.toUpperCase() : user.email, "some-wrong-password", ip),
    );
    // Strangers hammering the address do not use up its owner's budget elsewhere.
    expect((await loginAs(user.email, user.password, randomIp())).status).toBe(200);
  });

  it("limits registrations from one IP (30 a minute)", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(30, () =>
      api("POST", "/register", { body: { ...newIdentity(), password: STRONG_PASSWORD }, ip }),
    );
  });
});
