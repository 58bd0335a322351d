import { describe, expect, it } from "vitest";
import { api, login, randomIp, registerAndLogin } from "../support/api";
import { expectFailure, expectUnauthorized } from "../support/expect-failure";
import { expectRateLimitedAfter } from "../support/rate-limit";
import { me } from "../support/roles";
import { auditCount, backdateSession, sessionIdOf, sessionRow } from "../support/sessions";
import { settled } from "../support/settled";

const refresh = (refreshToken: string, ip?: string) => api("POST", "/refresh", { body: { refreshToken }, ip });
const expectInvalidRefresh = async (refreshToken: string) =>
  expectFailure(await refresh(refreshToken), 401, "INVALID_REFRESH_TOKEN");
/** Default REFRESH_REUSE_GRACE is 10 s; this puts a session's last rotation just past it. */
const GRACE_PASSED = 11;

describe("refresh token rotation", () => {
  it("kills the old refresh token once the reuse grace has passed", async () => {
    const s = await registerAndLogin();
    expect((await refresh(s.refreshToken)).status).toBe(200);
    await backdateSession(sessionIdOf(s), "rotated_at", GRACE_PASSED);
    await expectInvalidRefresh(s.refreshToken);
  });

  it("revokes the whole session when a rotated token is replayed after the grace: newest tokens die, audited", async () => {
    const s = await registerAndLogin();
    const first = (await refresh(s.refreshToken)).body.data;
    const second = (await refresh(first.refreshToken)).body.data;
    expect((await me(second)).status).toBe(200);
    await backdateSession(sessionIdOf(s), "rotated_at", GRACE_PASSED);

    // The thief (or the victim) replays the token that was rotated away.
    await expectInvalidRefresh(first.refreshToken);

    await expectInvalidRefresh(second.refreshToken);
    expectUnauthorized(await me(second));
    expectUnauthorized(await me(s));
    expect(await auditCount(s.user.id, "refresh_token_reuse")).toBe(1);
  });

  it("leaves the user's other sessions alone when one session is revoked for reuse", async () => {
    const s = await registerAndLogin();
    const other = await login(s.user);
    await refresh(s.refreshToken);
    await backdateSession(sessionIdOf(s), "rotated_at", GRACE_PASSED);
    await refresh(s.refreshToken);
    expect((await me(other)).status).toBe(200);
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });
});

describe("refresh reuse grace (two tabs refreshing at once)", () => {
  it("answers a retry of the just-rotated token with the same current token: both tabs keep working", async () => {
    const s = await registerAndLogin();
    const tabA = (await refresh(s.refreshToken)).body.data;
    const tabB = await refresh(s.refreshToken);
    expect(tabB.status).toBe(200);
    expect(tabB.body.data.refreshToken).toBe(tabA.refreshToken);
    expect((await me(tabA)).status).toBe(200);
    expect((await me(tabB.body.data)).status).toBe(200);
    // Either tab's next refresh rotates normally; the other's retry is again within the grace.
    const next = await refresh(tabB.body.data.refreshToken);
    expect(next.status).toBe(200);
    expect((await refresh(tabA.refreshToken)).body.data.refreshToken).toBe(next.body.data.refreshToken);
    expect(await auditCount(s.user.id, "refresh_token_reuse")).toBe(0);
  });

  it("lets every one of many parallel refreshes with one token succeed with one successor, minting nothing else", async () => {
    const s = await registerAndLogin();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(s.refreshToken)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const successors = new Set(results.map((r) => r.body.data.refreshToken));
    expect(successors.size).toBe(1);
    const sid = sessionIdOf(s);
    for (const r of results) expect(sessionIdOf(r.body.data)).toBe(sid);
    const sessions = await api("GET", "/me/sessions", { token: results[0]?.body.data.accessToken });
    expect(sessions.body.data).toHaveLength(1);
    expect((await refresh([...successors][0] as string)).status).toBe(200);
  });

  it("does not restart the grace on a retry: it runs from the real rotation", async () => {
    const s = await registerAndLogin();
    await refresh(s.refreshToken);
    const sid = sessionIdOf(s);
    await backdateSession(sid, "rotated_at", 5);
    const before = (await sessionRow(sid))?.rotated_at;
    expect((await refresh(s.refreshToken)).status).toBe(200);
    expect((await sessionRow(sid))?.rotated_at).toBe(before);
  });

  it("is no grace retry once JWT_SECRET has changed: the successor no longer matches, and the replay revokes", async () => {
    const s = await registerAndLogin();
    const current = (await refresh(s.refreshToken)).body.data;
    const otherSecret = { JWT_SECRET: "another-secret-of-at-least-32-characters" };
    const retry = await settled("POST", "/refresh", { body: { refreshToken: s.refreshToken }, bindings: otherSecret });
    expectFailure(retry, 401, "INVALID_REFRESH_TOKEN");
    await expectInvalidRefresh(current.refreshToken);
  });

  it("with REFRESH_REUSE_GRACE=0, exactly one of parallel refreshes wins and the session is revoked as a replay", async () => {
    const s = await registerAndLogin();
    const noGrace = (refreshToken: string) =>
      settled("POST", "/refresh", { body: { refreshToken }, bindings: { REFRESH_REUSE_GRACE: "0" } });
    const results = await Promise.all(Array.from({ length: 6 }, () => noGrace(s.refreshToken)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.status !== 200)) expectFailure(loser, 401, "INVALID_REFRESH_TOKEN");
    expectFailure(await noGrace(winners[0]?.body.data.refreshToken), 401, "INVALID_REFRESH_TOKEN");
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

  it("answers a forged token naming a live session id (from any access token) 401 with no side effect", async () => {
    const s = await registerAndLogin();
    const rotated = (await refresh(s.refreshToken)).body.data;
    await backdateSession(sessionIdOf(s), "rotated_at", GRACE_PASSED);
    const sid = sessionIdOf(s);
    for (const forged of [
      `${sid}.garbage`,
      `${sid}.${"A".repeat(43)}`,
      `${sid}.`,
      sid,
      `${rotated.refreshToken}x`,
      rotated.refreshToken.slice(0, -1),
      `${s.refreshToken}x`,
    ]) {
      await expectInvalidRefresh(forged);
    }
    expect((await sessionRow(sid))?.revoked_at).toBeNull();
    expect(await auditCount(s.user.id, "refresh_token_reuse")).toBe(0);
    expect((await me(rotated)).status).toBe(200);
    expect((await refresh(rotated.refreshToken)).status).toBe(200);
  });

  it("revokes the session when a token from several rotations ago is replayed: a thief who refreshed twice is caught", async () => {
    const victim = await registerAndLogin();
    // The thief uses the stolen token first, and keeps refreshing.
    let thief = victim.refreshToken;
    for (let i = 0; i < 3; i++) thief = (await refresh(thief)).body.data.refreshToken;
    // The victim's own (now several generations old) token comes back, even within the grace window.
    await expectInvalidRefresh(victim.refreshToken);
    await expectInvalidRefresh(thief);
    expect(await auditCount(victim.user.id, "refresh_token_reuse")).toBe(1);
  });

  it("refuses an expired token", async () => {
    const s = await registerAndLogin();
    await backdateSession(sessionIdOf(s), "expires_at", 1);
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
      expectUnauthorized(await me(session));
    }
  });

  it("rate-limits refreshes from one IP with 429 TOO_MANY_REQUESTS and Retry-After", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(30, (attempt) => refresh(`garbage-${attempt}`, ip));
  });
});
