import { env } from "cloudflare:workers";
import { hash } from "bcrypt-ts";
import { describe, expect, it } from "vitest";
import { networkOf } from "../../src/http/client";
import { api, randomIp, registerUser, type TestUser, unique } from "../support/api";
import { failuresOf, setFailures } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { expectRateLimitedAfter } from "../support/rate-limit";
import { withRequestLog } from "../support/request-log";
import { settled } from "../support/settled";
import { TEST_TURNSTILE_SECRET } from "../support/turnstile-secret";

/*
 * Password guessing, from the attacker's side. Failures are counted per
 * normalised email (account or not) and per client network (IPv4 address,
 * IPv6 /64): only a network that failed 10 times is locked out of an email.
 * Past 10 failures on an email from all networks together, every attempt is
 * slowed down, or needs a Turnstile token when TURNSTILE_SECRET is set.
 * The per-email-and-network rate limit (10 a minute) answers the 11th request
 * from one network, so tests put earlier failures into D1 with setFailures.
 */

const WRONG = "not-the-password-1";
const loginAs = (email: string, password: string, ip = randomIp(), extra: Record<string, unknown> = {}) =>
  api("POST", "/login", { body: { email, password, ...extra }, ip });
const ghostEmail = () => `${unique("ghost_")}@example.com`;
const net = (ip: string) => `net:${networkOf(ip)}`;
/** An address in the /64 `prefix` (four groups), with a random interface id. */
const inSlash64 = (prefix: string) => `${prefix}:${hex()}:${hex()}:${hex()}:${hex()}`;
const hex = () => Math.floor(Math.random() * 0x10000).toString(16);
const randomPrefix = () => `2001:db8:${hex()}:${hex()}`;

describe("per-network lockout", () => {
  it("locks the network that failed 10 times out of that email for 15 minutes, known or unknown alike", async () => {
    const user = await registerUser();
    const ghost = ghostEmail();
    const ip = randomIp();
    for (const email of [user.email, ghost]) {
      for (let i = 0; i < 10; i++) expectFailure(await loginAs(email, WRONG, ip), 401, "INVALID_CREDENTIALS");
      expect((await failuresOf(email))[net(ip)]).toBe(10);
    }
    // The 11th from that network is refused (within the minute by the rate limit, later by the lock), alike for both.
    const known = await loginAs(user.email, user.password, ip);
    const unknown = await loginAs(ghost, WRONG, ip);
    expect(known.status).toBe(429);
    expect(unknown.body).toEqual(known.body);
  });

  it("refuses even the right password from the locked network, with Retry-After, while another network gets in", async () => {
    const user = await registerUser();
    const attacker = randomIp();
    await setFailures(user.email, net(attacker), 10);
    const res = await loginAs(user.email, user.password, attacker);
    expectFailure(res, 429, "ACCOUNT_LOCKED");
    const retryAfter = Number(res.headers.get("Retry-After"));
    expect(retryAfter > 14 * 60 && retryAfter <= 15 * 60).toBe(true);
    expect((await loginAs(user.email, user.password, randomIp())).status).toBe(200);
  });

  it("ten wrong passwords from ten networks do not keep the owner out", async () => {
    const user = await registerUser();
    for (let i = 0; i < 10; i++) expectFailure(await loginAs(user.email, WRONG), 401, "INVALID_CREDENTIALS");
    expect((await failuresOf(user.email)).account).toBe(10);
    expect((await loginAs(user.email, user.password)).status).toBe(200);
    // A success gives back the email's total; the failing networks keep their own counts.
    const left = await failuresOf(user.email);
    expect(left.account).toBeUndefined();
    expect(Object.values(left)).toEqual(Array(10).fill(1));
  });

  it("lets the right password in after 9 failures from its own network, and starts afresh after the lock expires", async () => {
    const user = await registerUser();
    const ip = randomIp();
    for (let i = 0; i < 9; i++) expectFailure(await loginAs(user.email, WRONG, ip), 401, "INVALID_CREDENTIALS");
    expect((await loginAs(user.email, user.password, ip)).status).toBe(200);
    const other = randomIp();
    await setFailures(user.email, net(other), 10, new Date(Date.now() - 1000).toISOString());
    expect((await loginAs(user.email, user.password, other)).status).toBe(200);
  });

  it("compares no more guesses than the network has left when they race in parallel", async () => {
    const user = await registerUser();
    const ip = randomIp();
    await setFailures(user.email, net(ip), 5);
    const results = await Promise.all(Array.from({ length: 9 }, () => loginAs(user.email, WRONG, ip)));
    const codes = results.map((r) => r.body.error.code);
    expect(codes.filter((c) => c === "INVALID_CREDENTIALS")).toHaveLength(5);
    expect(codes.filter((c) => c === "ACCOUNT_LOCKED")).toHaveLength(4);
    expect((await failuresOf(user.email))[net(ip)]).toBe(10);
    expectFailure(await loginAs(user.email, user.password, ip), 429, "ACCOUNT_LOCKED");
  });
});

describe("past the per-email threshold", () => {
  /** Logs in through `settled` so the request's log line (bcrypt cost, delay) can be read. */
  const loggedLogin = (body: Record<string, unknown>, bindings: Record<string, string> = {}, ip = randomIp()) =>
    withRequestLog((requestId) =>
      settled("POST", "/login", { body, ip, bindings, headers: { "X-Request-Id": requestId } }),
    );

  it("slows every attempt down, progressively, for known and unknown emails alike, and the owner still gets in", async () => {
    const user = await registerUser();
    const ghost = ghostEmail();
    for (const email of [user.email, ghost]) await setFailures(email, "account", 11);
    const known = await loggedLogin({ email: user.email, password: WRONG });
    const unknown = await loggedLogin({ email: ghost, password: WRONG });
    expectFailure(known.res, 401, "INVALID_CREDENTIALS");
    expect(unknown.res.body).toEqual(known.res.body);
    expect(known.log.delayMs).toBe(1000); // 500 ms, doubled for each earlier failure past 10
    expect(unknown.log.delayMs).toBe(known.log.delayMs);
    const owner = await loggedLogin({ email: user.email, password: user.password });
    expect(owner.res.status).toBe(200);
    expect(owner.log.delayMs).toBe(2000); // one more earlier failure: the wrong password above
    expect((await failuresOf(user.email)).account).toBeUndefined();
  });

  it("does not slow down an email below the threshold", async () => {
    const user = await registerUser();
    await setFailures(user.email, "account", 9);
    const { res, log } = await loggedLogin({ email: user.email, password: user.password });
    expect(res.status).toBe(200);
    expect(log.delayMs).toBe(0);
  });

  describe("with TURNSTILE_SECRET set", () => {
    const turnstile = { TURNSTILE_SECRET: TEST_TURNSTILE_SECRET };

    it("asks for a challenge instead, alike for known and unknown emails, and lets the owner in with one", async () => {
      const user = await registerUser();
      const ghost = ghostEmail();
      for (const email of [user.email, ghost]) await setFailures(email, "account", 30);
      const missing = await loggedLogin({ email: user.email, password: user.password }, turnstile);
      expectFailure(missing.res, 401, "CHALLENGE_REQUIRED");
      const unknown = await loggedLogin({ email: ghost, password: WRONG }, turnstile);
      expect(unknown.res.body).toEqual(missing.res.body);
      // No password was compared for either.
      expect(missing.log.bcryptCost).toBeUndefined();

      const forged = await loggedLogin(
        { email: user.email, password: user.password, turnstileToken: "forged-token" },
        turnstile,
      );
      expectFailure(forged.res, 401, "CHALLENGE_REQUIRED");

      const ip = randomIp();
      const token = `valid-${unique()}`;
      const solved = await loggedLogin(
        { email: user.email, password: user.password, turnstileToken: token },
        turnstile,
        ip,
      );
      expect(solved.res.status).toBe(200);
      expect(solved.log.delayMs).toBe(0);
      const received = (await (await fetch(env.TURNSTILE_VERIFY_URL.replace("/siteverify", "/received"))).json()) as {
        response: string;
        secret: string;
        remoteip?: string;
      }[];
      expect(received.find((r) => r.response === token)).toEqual({
        secret: TEST_TURNSTILE_SECRET,
        response: token,
        remoteip: ip,
      });
    });

    it("refuses a replayed Turnstile token", async () => {
      const user = await registerUser();
      await setFailures(user.email, "account", 10);
      const token = `valid-${unique()}`;
      const first = await loggedLogin({ email: user.email, password: WRONG, turnstileToken: token }, turnstile);
      expectFailure(first.res, 401, "INVALID_CREDENTIALS");
      const replay = await loggedLogin(
        { email: user.email, password: user.password, turnstileToken: token },
        turnstile,
      );
      expectFailure(replay.res, 401, "CHALLENGE_REQUIRED");
    });

    it("needs no challenge below the threshold", async () => {
      const user = await registerUser();
      await setFailures(user.email, "account", 9);
      expect((await loggedLogin({ email: user.email, password: user.password }, turnstile)).res.status).toBe(200);
    });
  });
});

describe("IPv6: one /64 is one client", () => {
  it("limits 40 logins from 40 addresses of one /64 like 40 from one address", async () => {
    const prefix = randomPrefix();
    await expectRateLimitedAfter(30, () => loginAs(ghostEmail(), WRONG, inSlash64(prefix)));
    // Another /64 is not affected.
    expectFailure(await loginAs(ghostEmail(), WRONG, inSlash64(randomPrefix())), 401, "INVALID_CREDENTIALS");
  });

  it("locks the whole /64 out of an email, not just the address that failed", async () => {
    const user = await registerUser();
    const prefix = randomPrefix();
    for (let i = 0; i < 10; i++)
      expectFailure(await loginAs(user.email, WRONG, inSlash64(prefix)), 401, "INVALID_CREDENTIALS");
    expect((await failuresOf(user.email))[`net:${prefix}::/64`]).toBe(10);
    expect((await loginAs(user.email, user.password, randomIp())).status).toBe(200);
  });

  it.each([
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:0001:0002::abcd", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["64:ff9b:1:2::192.0.2.7", "64:ff9b:1:2::/64"],
    ["192.0.2.7", "192.0.2.7"],
  ])("keys %s as %s", (ip, network) => {
    expect(networkOf(ip)).toBe(network);
  });
});

describe("unknown emails cost what real ones cost (BCRYPT_COST changed)", () => {
  /** The documented rule: an unknown email mirrors the account whose id follows SHA-256 of it. */
  async function pivotOf(email: string) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`unknown-email-cost:${email}`));
    const h = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }
  const logged = (email: string) =>
    withRequestLog((id) =>
      settled("POST", "/login", { body: { email, password: WRONG }, headers: { "X-Request-Id": id } }),
    );

  it("compares an unknown email at the cost of a real account's hash, not at the Worker's cost", async () => {
    const user: TestUser = await registerUser();
    const ghost = ghostEmail();
    // As if the account was made when BCRYPT_COST was 10 (the Worker under test runs at 4), and
    // given the id that the unknown email mirrors.
    await env.DB.prepare("update users set id = ?, password_hash = ? where id = ?")
      .bind(await pivotOf(ghost), await hash(user.password, 10), user.id)
      .run();

    const wrong = await logged(user.email);
    const unknown = await logged(ghost);
    expect(wrong.log.bcryptCost).toBe(10);
    expect(unknown.log.bcryptCost).toBe(10);
    expect(unknown.res.body).toEqual(wrong.res.body);
    // One email always costs the same.
    expect((await logged(ghost)).log.bcryptCost).toBe(10);

    // The right password upgrades the hash to the Worker's cost; the same unknown email follows it.
    expect((await loginAs(user.email, user.password)).status).toBe(200);
    expect((await logged(ghost)).log.bcryptCost).toBe(4);
  });
});
