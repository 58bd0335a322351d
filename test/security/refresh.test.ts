import { env } from "cloudflare:workers";
import { decode } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { api, login, randomIp, registerAndLogin } from "../support/api";
import { expectFailure, expectUnauthorized } from "../support/expect-failure";
import { expectRateLimitedAfter } from "../support/rate-limit";

const refresh = (refreshToken: string, ip?: string) => api("POST", "/refresh", { body: { refreshToken }, ip });
const expectInvalidRefresh = async (refreshToken: string) =>
  expectFailure(await refresh(refreshToken), 401, "INVALID_REFRESH_TOKEN");

describe("refresh token rotation", () => {
  it("kills the old refresh token once it has been used", async () => {
    const s = await registerAndLogin();
    expect((await refresh(s.refreshToken)).status).toBe(200);
    await expectInvalidRefresh(s.refreshToken);
  });

  it("revokes the whole session when a rotated token is presented again: newest refresh and access tokens die", async () => {
    const s = await registerAndLogin();
    const first = (await refresh(s.refreshToken)).body.data;
    const second = (await refresh(first.refreshToken)).body.data;
    expect((await api("GET", "/me", { token: second.accessToken })).status).toBe(200);

    // The thief (or the victim) replays the token that was rotated away.
    await expectInvalidRefresh(first.refreshToken);

    await expectInvalidRefresh(second.refreshToken);
    expectUnauthorized(await api("GET", "/me", { token: second.accessToken }));
    expectUnauthorized(await api("GET", "/me", { token: s.accessToken }));
  });

  it("leaves the user's other sessions alone when one session is revoked for reuse", async () => {
    const s = await registerAndLogin();
    const other = await login(s.user);
    await refresh(s.refreshToken);
    await refresh(s.refreshToken);
    expect((await api("GET", "/me", { token: other.accessToken })).status).toBe(200);
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it("lets exactly one of many parallel refreshes with the same token win", async () => {
    const s = await registerAndLogin();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(s.refreshToken)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.status !== 200)) expectFailure(loser, 401, "INVALID_REFRESH_TOKEN");
    // The losers presented a token that had just been rotated: by the contract that is reuse, and the session ends.
    await expectInvalidRefresh(winners[0]?.body.data.refreshToken);
  });
});

describe("refresh tokens that are refused", () => {
  it("refuses unknown and garbage tokens with 401 INVALID_REFRESH_TOKEN", async () => {
    const s = await registerAndLogin();
    for (const token of [
      "A".repeat(43),
      btoa(crypto.randomUUID()),
      "' OR '1'='1",
      "%00",
      "\u0000",
      "😀".repeat(10),
      " ",
      s.refreshToken.toUpperCase(),
      `${crypto.randomUUID()}.${"A".repeat(43)}`,
    ]) {
      await expectInvalidRefresh(token);
    }
    // None of the guesses disturbed the real token.
    expect((await refresh(s.refreshToken)).status).toBe(200);
  });

  it("treats a tampered copy of a real token as a replay and revokes its session", async () => {
    for (const tamper of [(t: string) => `${t}x`, (t: string) => t.slice(0, -1)]) {
      const s = await registerAndLogin();
      await expectInvalidRefresh(tamper(s.refreshToken));
      await expectInvalidRefresh(s.refreshToken);
      expect((await api("GET", "/me", { token: s.accessToken })).status).toBe(401);
    }
  });

  it("revokes the session when a token from several rotations ago is replayed", async () => {
    const s = await registerAndLogin();
    let latest = s.refreshToken;
    for (let i = 0; i < 3; i++) latest = (await refresh(latest)).body.data.refreshToken;
    await expectInvalidRefresh(s.refreshToken);
    await expectInvalidRefresh(latest);
  });

  it("refuses an expired token", async () => {
    const s = await registerAndLogin();
    const sid = decode(s.accessToken).payload.sid as string;
    await env.DB.prepare("update sessions set expires_at = ? where id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), sid)
      .run();
    await expectInvalidRefresh(s.refreshToken);
  });

  it("refuses the token of a session ended by logout", async () => {
    const s = await registerAndLogin();
    await api("POST", "/logout", { token: s.accessToken });
    await expectInvalidRefresh(s.refreshToken);
  });

  it("refuses every session's token after logout with all: true", async () => {
    const s = await registerAndLogin();
    const sessions = [s, await login(s.user), await login(s.user)];
    const res = await api("POST", "/logout", { token: s.accessToken, body: { all: true } });
    expect(res.status).toBe(200);
    for (const session of sessions) {
      await expectInvalidRefresh(session.refreshToken);
      expectUnauthorized(await api("GET", "/me", { token: session.accessToken }));
    }
  });

  it("rate-limits refreshes from one IP with 429 TOO_MANY_REQUESTS and Retry-After", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(30, (attempt) => refresh(`garbage-${attempt}`, ip));
  });
});
