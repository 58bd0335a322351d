import { describe, expect, it } from "vitest";
import { api, login, registerAndLogin, registerUser } from "../support/api";
import { suspendUser } from "../support/db";
import { expectFailure, expectUnauthorized } from "../support/expect-failure";
import { me, signedInAs } from "../support/roles";
import { backdateSession, markVerified, sessionIdOf, sessionRow } from "../support/sessions";
import { settled } from "../support/settled";

const refresh = (refreshToken: string) => api("POST", "/refresh", { body: { refreshToken } });
const NINETY_DAYS = 90 * 24 * 3600;

describe("session lifetime", () => {
  it("refuses an unexpired access token once its session's expiresAt has passed", async () => {
    const s = await registerAndLogin();
    await backdateSession(sessionIdOf(s), "expires_at", 1);
    expectUnauthorized(await me(s));
  });

  it("ends a session SESSION_MAX_AGE (90 days) after login, however often it was refreshed", async () => {
    const s = await registerAndLogin();
    const sid = sessionIdOf(s);
    await backdateSession(sid, "created_at", NINETY_DAYS - 60);
    const fresh = await refresh(s.refreshToken);
    expect(fresh.status).toBe(200);
    await backdateSession(sid, "created_at", NINETY_DAYS + 1);
    expectUnauthorized(await me(fresh.body.data));
    expectFailure(await refresh(fresh.body.data.refreshToken), 401, "INVALID_REFRESH_TOKEN");
  });

  it("never slides expiresAt past the absolute end, in D1 and in /me/sessions", async () => {
    const s = await registerAndLogin();
    const sid = sessionIdOf(s);
    await backdateSession(sid, "created_at", NINETY_DAYS - 3600);
    const fresh = (await refresh(s.refreshToken)).body.data;
    const row = await sessionRow(sid);
    const absoluteEnd = Date.parse(row?.created_at as string) + NINETY_DAYS * 1000;
    expect(Date.parse(row?.expires_at as string)).toBe(absoluteEnd);
    const listed = (await api("GET", "/me/sessions", { token: fresh.accessToken })).body.data;
    expect(Date.parse(listed[0].expiresAt)).toBe(absoluteEnd);
  });

  it("applies a shorter SESSION_MAX_AGE to sessions that already exist", async () => {
    const s = await registerAndLogin();
    await backdateSession(sessionIdOf(s), "created_at", 120);
    const res = await settled("GET", "/me", { token: s.accessToken, bindings: { SESSION_MAX_AGE: "60" } });
    expectUnauthorized(res);
  });

  it("neither lists nor revokes expired or too-old sessions in /me/sessions", async () => {
    const s = await registerAndLogin();
    const expired = await login(s.user);
    const tooOld = await login(s.user);
    await backdateSession(sessionIdOf(expired), "expires_at", 1);
    await backdateSession(sessionIdOf(tooOld), "created_at", NINETY_DAYS + 1);
    const listed = (await api("GET", "/me/sessions", { token: s.accessToken })).body.data;
    expect(listed.map((x: { id: string }) => x.id)).toEqual([sessionIdOf(s)]);
    for (const ended of [expired, tooOld]) {
      const res = await api("DELETE", `/me/sessions/${sessionIdOf(ended)}`, { token: s.accessToken });
      expectFailure(res, 404, "NOT_FOUND");
      expect((await sessionRow(sessionIdOf(ended)))?.revoked_at).toBeNull();
    }
  });
});

describe("suspended accounts", () => {
  it("get 403 ACCOUNT_SUSPENDED from the guard and /refresh after an admin suspends them (sessions stay revoked)", async () => {
    const admin = await signedInAs("admin");
    const target = await registerAndLogin();
    const res = await api("PATCH", `/user/${target.user.id}`, {
      token: admin.accessToken,
      body: { status: "suspended" },
    });
    expect(res.status).toBe(200);
    expectFailure(await me(target), 403, "ACCOUNT_SUSPENDED");
    expectFailure(await refresh(target.refreshToken), 403, "ACCOUNT_SUSPENDED");
    expect((await sessionRow(sessionIdOf(target)))?.revoked_at).not.toBeNull();

    // Reactivation does not bring the revoked sessions back.
    await api("PATCH", `/user/${target.user.id}`, { token: admin.accessToken, body: { status: "active" } });
    expectUnauthorized(await me(target));
    expectFailure(await refresh(target.refreshToken), 401, "INVALID_REFRESH_TOKEN");
  });

  it("do not consume the refresh token with a refused refresh", async () => {
    const s = await registerAndLogin();
    await suspendUser(s.user.id);
    expectFailure(await refresh(s.refreshToken), 403, "ACCOUNT_SUSPENDED");
    const row = await sessionRow(sessionIdOf(s));
    expect(row?.previous_refresh_token_hash).toBeNull();
  });

  it("are not revealed to someone who only knows a session id", async () => {
    const s = await registerAndLogin();
    await suspendUser(s.user.id);
    expectFailure(await refresh(`${sessionIdOf(s)}.garbage`), 401, "INVALID_REFRESH_TOKEN");
  });
});

describe("REQUIRE_EMAIL_VERIFICATION=true", () => {
  const strict = { REQUIRE_EMAIL_VERIFICATION: "true" };
  const call = (method: string, path: string, token?: string, body?: unknown) =>
    settled(method, path, { token, body, bindings: strict });

  it("signs an unverified account in with a session that reaches only what gets it verified (N1: verifying needs it)", async () => {
    const user = await registerUser();
    const wrong = await call("POST", "/login", undefined, { email: user.email, password: `${user.password}x` });
    expectFailure(wrong, 401, "INVALID_CREDENTIALS");
    const right = await call("POST", "/login", undefined, { email: user.email, password: user.password });
    expect(right.body.data.user.emailVerified).toBe(false);
    const { accessToken, refreshToken } = right.body.data;
    expectFailure(await call("GET", "/posts", accessToken), 403, "EMAIL_NOT_VERIFIED");
    expect((await call("GET", "/me", accessToken)).status).toBe(200);
    // It lives one access token: /refresh still waits for the verification (and spends nothing).
    expectFailure(await call("POST", "/refresh", undefined, { refreshToken }), 403, "EMAIL_NOT_VERIFIED");
  });

  it("refuses /refresh to a session opened before the setting, without consuming its token", async () => {
    const s = await registerAndLogin();
    expectFailure(
      await call("POST", "/refresh", undefined, { refreshToken: s.refreshToken }),
      403,
      "EMAIL_NOT_VERIFIED",
    );
    await markVerified(s.user.id);
    expect((await call("POST", "/refresh", undefined, { refreshToken: s.refreshToken })).status).toBe(200);
  });

  it("lets an unverified account only read itself, get verified, fix its address, see its sessions and leave", async () => {
    const s = await registerAndLogin();
    for (const [method, path, body] of [
      ["GET", "/posts", undefined],
      ["POST", "/posts", { title: "t", content: "c" }],
      ["GET", `/user/${s.user.id}`, undefined],
      ["POST", "/me/password", { currentPassword: s.user.password, newPassword: "another-long-passphrase-7" }],
    ] as const) {
      expectFailure(await call(method, path, s.accessToken, body), 403, "EMAIL_NOT_VERIFIED");
    }
    expect((await call("GET", "/me", s.accessToken)).status).toBe(200);
    expect((await call("GET", "/me/sessions", s.accessToken)).status).toBe(200);
    expect((await call("POST", "/resend-verification", s.accessToken)).status).toBe(200);
    expect((await call("POST", "/logout", s.accessToken)).status).toBe(200);
  });

  it("changes nothing for a verified account", async () => {
    const user = await registerUser();
    await markVerified(user.id);
    const res = await call("POST", "/login", undefined, { email: user.email, password: user.password });
    expect(res.status).toBe(200);
    expect((await call("GET", "/posts", res.body.data.accessToken)).status).toBe(200);
    expect((await call("POST", "/refresh", undefined, { refreshToken: res.body.data.refreshToken })).status).toBe(200);
  });
});
