import { env } from "cloudflare:workers";
import { getRounds, hash } from "bcrypt-ts";
import { decode } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { api, login, PUBLIC_USER_KEYS, registerAndLogin, registerUser, STRONG_PASSWORD, unique } from "./support/api";
import { suspendUser, userRowByEmail } from "./support/db";
import { detailPaths, expectFailure, expectUnauthorized } from "./support/expect-failure";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
/** The session id, then 256 random bits in base64url (43 characters). */
const REFRESH_TOKEN = /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;
const TOKEN_RESPONSE_KEYS = ["accessToken", "expiresIn", "refreshToken", "tokenType", "user"];

function expectPublicUser(user: Record<string, unknown>) {
  expect(Object.keys(user).sort()).toEqual(PUBLIC_USER_KEYS);
  expect(user.id).toMatch(UUID);
  expect(user.createdAt).toMatch(ISO);
  expect(user.updatedAt).toMatch(ISO);
}

function expectTokenResponse(body: any, user: { id: string; email: string }) {
  expect(body).toMatchObject({ status: "success", statusCode: 200 });
  const data = body.data;
  expect(Object.keys(data).sort()).toEqual(TOKEN_RESPONSE_KEYS);
  expect(data.tokenType).toBe("Bearer");
  expect(data.expiresIn).toBe(900);
  expect(data.refreshToken).toMatch(REFRESH_TOKEN);
  expectPublicUser(data.user);
  expect(data.user).toMatchObject({ id: user.id, email: user.email });

  const { header, payload } = decode(data.accessToken);
  expect(header).toMatchObject({ alg: "HS256", typ: "JWT" });
  expect(payload).toMatchObject({ sub: user.id, role: "user" });
  expect(payload.sid).toMatch(UUID);
  expect((payload.exp as number) - (payload.iat as number)).toBe(data.expiresIn);
}

describe("POST /register", () => {
  it("creates a user and answers 201 with data.user in the public shape", async () => {
    const username = unique("Reg_");
    const res = await api("POST", "/register", {
      body: { username, email: `  ${username}@Example.COM `, password: STRONG_PASSWORD },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "success", statusCode: 201, message: expect.any(String) });
    expectPublicUser(res.body.data.user);
    expect(res.body.data.user).toMatchObject({
      username,
      email: `${username.toLowerCase()}@example.com`,
      role: "user",
      status: "active",
      emailVerified: false,
    });
  });

  it("stores a bcrypt hash at BCRYPT_COST, never the password", async () => {
    const user = await registerUser();
    const row = await userRowByEmail(user.email);
    expect(row?.password_hash).toMatch(/^\$2[aby]\$04\$/);
    expect(row?.password_hash).not.toContain(user.password);
  });

  it("names every missing field in VALIDATION_ERROR details", async () => {
    const res = await api("POST", "/register", { body: {} });
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(detailPaths(res).sort()).toEqual(["email", "password", "username"]);
  });

  it("rejects an invalid email address with a detail for email", async () => {
    const res = await api("POST", "/register", {
      body: { username: unique(), email: "not-an-email", password: STRONG_PASSWORD },
    });
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(detailPaths(res)).toEqual(["email"]);
  });
});

describe("POST /login", () => {
  it("upgrades a hash made at another BCRYPT_COST on a successful login", async () => {
    const user = await registerUser();
    await env.DB.prepare("update users set password_hash = ? where id = ?")
      .bind(await hash(user.password, 5), user.id)
      .run();
    expect((await api("POST", "/login", { body: { email: user.email, password: user.password } })).status).toBe(200);
    const row = await env.DB.prepare("select password_hash from users where id = ?")
      .bind(user.id)
      .first<{ password_hash: string }>();
    expect(getRounds(row!.password_hash)).toBe(Number(env.BCRYPT_COST));
    // The upgraded hash still takes the same password.
    expect((await api("POST", "/login", { body: { email: user.email, password: user.password } })).status).toBe(200);
  });

  it("answers 200 with tokens, tokenType, expiresIn and the user", async () => {
    const user = await registerUser();
    const res = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    expect(res.status).toBe(200);
    expectTokenResponse(res.body, user);
  });

  it("accepts the email in another case and with surrounding spaces", async () => {
    const user = await registerUser();
    const res = await api("POST", "/login", {
      body: { email: ` ${user.email.toUpperCase()} `, password: user.password },
    });
    expect(res.status).toBe(200);
  });

  it("opens a separate session on every login", async () => {
    const user = await registerUser();
    const [a, b] = [await login(user), await login(user)];
    expect(decode(a.accessToken).payload.sid).not.toBe(decode(b.accessToken).payload.sid);
    expect((await api("GET", "/me", { token: a.accessToken })).status).toBe(200);
    expect((await api("GET", "/me", { token: b.accessToken })).status).toBe(200);
  });

  it("refuses a wrong password with 401 INVALID_CREDENTIALS", async () => {
    const user = await registerUser();
    const res = await api("POST", "/login", { body: { email: user.email, password: `${user.password}x` } });
    expectFailure(res, 401, "INVALID_CREDENTIALS");
  });

  it("refuses a missing password or an extra field with 400 VALIDATION_ERROR", async () => {
    const user = await registerUser();
    expectFailure(await api("POST", "/login", { body: { email: user.email } }), 400, "VALIDATION_ERROR");
    const extra = await api("POST", "/login", { body: { email: user.email, password: user.password, remember: true } });
    expectFailure(extra, 400, "VALIDATION_ERROR");
  });

  it("answers 403 ACCOUNT_SUSPENDED to a suspended account only once the password is right", async () => {
    const user = await registerUser();
    await suspendUser(user.id);
    const wrong = await api("POST", "/login", { body: { email: user.email, password: `${user.password}x` } });
    expectFailure(wrong, 401, "INVALID_CREDENTIALS");
    const right = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    expectFailure(right, 403, "ACCOUNT_SUSPENDED");
  });
});

describe("POST /refresh", () => {
  it("answers 200 in the login shape with a new refresh token for the same session", async () => {
    const s = await registerAndLogin();
    const res = await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } });
    expect(res.status).toBe(200);
    expectTokenResponse(res.body, s.user);
    expect(res.body.data.refreshToken).not.toBe(s.refreshToken);
    expect(decode(res.body.data.accessToken).payload.sid).toBe(decode(s.accessToken).payload.sid);
    expect((await api("GET", "/me", { token: res.body.data.accessToken })).status).toBe(200);
  });

  it("refuses a missing, empty, non-string or extra field with 400 VALIDATION_ERROR", async () => {
    const s = await registerAndLogin();
    for (const body of [{}, { refreshToken: "" }, { refreshToken: 42 }, { refreshToken: s.refreshToken, all: true }]) {
      const res = await api("POST", "/refresh", { body });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res).length).toBeGreaterThan(0);
    }
    // None of those consumed the token.
    expect((await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } })).status).toBe(200);
  });

  it("answers 403 ACCOUNT_SUSPENDED for a suspended user's session", async () => {
    const s = await registerAndLogin();
    await suspendUser(s.user.id);
    expectFailure(await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } }), 403, "ACCOUNT_SUSPENDED");
  });
});

describe("POST /logout", () => {
  it("revokes the current session only: its access and refresh tokens die, another session lives", async () => {
    const s = await registerAndLogin();
    const other = await login(s.user);
    const res = await api("POST", "/logout", { token: s.accessToken, body: {} });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200, data: {} });

    expectUnauthorized(await api("GET", "/me", { token: s.accessToken }));
    const refresh = await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } });
    expectFailure(refresh, 401, "INVALID_REFRESH_TOKEN");
    expect((await api("GET", "/me", { token: other.accessToken })).status).toBe(200);
  });

  it("works without any body", async () => {
    const s = await registerAndLogin();
    expect((await api("POST", "/logout", { token: s.accessToken })).status).toBe(200);
    expectUnauthorized(await api("GET", "/me", { token: s.accessToken }));
  });

  it("also revokes another of the caller's sessions named by its refresh token", async () => {
    const s = await registerAndLogin();
    const other = await login(s.user);
    await api("POST", "/logout", { token: s.accessToken, body: { refreshToken: other.refreshToken } });
    expectUnauthorized(await api("GET", "/me", { token: other.accessToken }));
  });

  it("ignores a refresh token that belongs to someone else", async () => {
    const attacker = await registerAndLogin();
    const victim = await registerAndLogin();
    const res = await api("POST", "/logout", {
      token: attacker.accessToken,
      body: { refreshToken: victim.refreshToken },
    });
    expect(res.status).toBe(200);
    expect((await api("GET", "/me", { token: victim.accessToken })).status).toBe(200);
    expect((await api("POST", "/refresh", { body: { refreshToken: victim.refreshToken } })).status).toBe(200);
  });

  it("answers 401 with a Bearer challenge without a token, and after the session is gone", async () => {
    expectUnauthorized(await api("POST", "/logout", { body: {} }));
    const s = await registerAndLogin();
    await api("POST", "/logout", { token: s.accessToken });
    expectUnauthorized(await api("POST", "/logout", { token: s.accessToken }));
  });

  it("refuses a malformed body with 400 VALIDATION_ERROR and keeps the session", async () => {
    const s = await registerAndLogin();
    for (const body of [{ all: "yes" }, { everything: true }, { refreshToken: 1 }]) {
      expectFailure(await api("POST", "/logout", { token: s.accessToken, body }), 400, "VALIDATION_ERROR");
    }
    expect((await api("GET", "/me", { token: s.accessToken })).status).toBe(200);
  });
});

describe("GET /me", () => {
  it("answers 200 with data.user of the caller", async () => {
    const s = await registerAndLogin();
    const res = await api("GET", "/me", { token: s.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200 });
    expectPublicUser(res.body.data.user);
    expect(res.body.data.user).toMatchObject({ id: s.user.id, username: s.user.username, email: s.user.email });
  });

  it("answers 401 UNAUTHORIZED with a Bearer challenge without a usable Authorization header", async () => {
    const s = await registerAndLogin();
    for (const authorization of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      `Basic ${btoa(`${s.user.email}:${s.user.password}`)}`,
      `Token ${s.accessToken}`,
      "Bearer not-a-jwt",
      `Bearer ${s.accessToken} extra`,
      `Bearer ${s.refreshToken}`,
    ]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
      expectUnauthorized(await api("GET", "/me", { headers }));
    }
  });
});

describe("GET /health", () => {
  it("answers 200 with status ok and db ok after a D1 round trip", async () => {
    const res = await api("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200, data: { status: "ok", db: "ok" } });
    expect(res.body.data).toEqual({ status: "ok", db: "ok" });
  });
});
