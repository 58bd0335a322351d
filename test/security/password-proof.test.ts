import { describe, expect, it, vi } from "vitest";
import { api, login, randomIp, registerUser, type Session, STRONG_PASSWORD, type TestUser } from "../support/api";
import { failuresOf, rows, setFailures } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { expectRateLimitedAfter } from "../support/rate-limit";
import { settled } from "../support/settled";

/*
 * Every "current password" check of a signed-in user (POST /me/password,
 * DELETE /me, and email change through the same step-up proof, `proveInline`) draws on the
 * login's failure budget: counted per email and network, audited, and five
 * failures on one session revoke that session.
 */

const WRONG = "not-the-password-1";
const NEW_PASSWORD = "brand-new-staple-orbit-42";

type Check = {
  route: string;
  send: (s: Session, password: string, ip?: string) => ReturnType<typeof api>;
};
const CHECKS: Check[] = [
  {
    route: "POST /me/password",
    send: (s, password, ip) =>
      api("POST", "/me/password", {
        token: s.accessToken,
        body: { currentPassword: password, newPassword: NEW_PASSWORD },
        ip,
      }),
  },
  {
    route: "DELETE /me",
    send: (s, password, ip) => api("DELETE", "/me", { token: s.accessToken, body: { password }, ip }),
  },
];

const failuresAudited = async (user: TestUser) =>
  (
    await rows(
      "select details from audit_events where action = 'login_failure' and target_id = ? order by created_at",
      user.id,
    )
  ).map((r) => JSON.parse(String(r.details)));

describe.each(CHECKS)("$route", ({ route, send }) => {
  it("audits a wrong password and counts it toward the email's failures, per network and session", async () => {
    const user = await registerUser();
    const s = await login(user);
    const ip = randomIp();
    expectFailure(await send(s, WRONG, ip), 401, "INVALID_CREDENTIALS");
    const [audited] = await failuresAudited(user);
    expect(audited).toMatchObject({ via: route === "DELETE /me" ? "delete-me" : "password" });
    const counted = await failuresOf(user.email);
    expect(counted.account).toBe(1);
    expect(counted[`net:${ip}`]).toBe(1);
    expect(Object.entries(counted).filter(([scope]) => scope.startsWith("session:"))).toHaveLength(1);
  });

  it("revokes the session on the fifth wrong password, not before", async () => {
    const user = await registerUser();
    const s = await login(user);
    for (let i = 0; i < 4; i++) expectFailure(await send(s, WRONG), 401, "INVALID_CREDENTIALS");
    expect((await api("GET", "/me", { token: s.accessToken })).status).toBe(200);
    expectFailure(await send(s, WRONG), 401, "INVALID_CREDENTIALS");
    expectFailure(await api("GET", "/me", { token: s.accessToken }), 401, "UNAUTHORIZED");
    expectFailure(
      await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expect((await failuresAudited(user)).at(-1)).toMatchObject({ sessionRevoked: true });
    // Another session of the owner is untouched, and the right password still works.
    expect((await login(user)).accessToken).toBeTruthy();
  });

  it("compares at most five passwords on one session however many guesses run in parallel", async () => {
    const s = await login(await registerUser());
    const logLines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      logLines.push(args.map(String).join(" "));
    });
    let answers: number[];
    try {
      const guess = () =>
        settled("POST", "/me/password", {
          token: s.accessToken,
          ip: randomIp(),
          body: { currentPassword: WRONG, newPassword: NEW_PASSWORD },
        });
      answers = (await Promise.all(Array.from({ length: 12 }, guess))).map((r) => r.status);
    } finally {
      spy.mockRestore();
    }
    // The request log records a bcrypt cost only for a compare that ran.
    const compared = logLines.map((l) => JSON.parse(l)).filter((l) => l.path === "/me/password" && l.bcryptCost);
    expect(compared.length).toBeLessThanOrEqual(5);
    expect(answers.every((status) => status === 401 || status === 429)).toBe(true);
    expectFailure(await api("GET", "/me", { token: s.accessToken }), 401, "UNAUTHORIZED");
  });

  it("shares the login's lock: a network locked out by failed logins is refused even the right password", async () => {
    const user = await registerUser();
    const s = await login(user);
    const ip = randomIp();
    await setFailures(user.email, `net:${ip}`, 10);
    expectFailure(await send(s, STRONG_PASSWORD, ip), 429, "ACCOUNT_LOCKED");
    expect((await rows("select id from users where id = ?", user.id)).length).toBe(1);
  });

  it("its failures lock that network out of /login", async () => {
    const user = await registerUser();
    const s = await login(user);
    const ip = randomIp();
    await setFailures(user.email, `net:${ip}`, 9);
    expectFailure(await send(s, WRONG, ip), 401, "INVALID_CREDENTIALS");
    const res = await api("POST", "/login", { body: { email: user.email, password: user.password }, ip });
    expectFailure(res, 429, "ACCOUNT_LOCKED");
  });
});

describe("per-account rate limits on password checks (each would fail if its limit were removed)", () => {
  it("POST /me/password: 10 checks a minute per account, from any number of networks", async () => {
    const user = await registerUser();
    const s = await login(user);
    // The right password with a refused new one: nothing changes, nothing is locked, only the limit can answer 429.
    await expectRateLimitedAfter(10, () =>
      api("POST", "/me/password", {
        token: s.accessToken,
        body: { currentPassword: user.password, newPassword: "password123" },
        ip: randomIp(),
      }),
    );
  });

  it("DELETE /me: 10 checks a minute per account, from any number of networks and sessions", async () => {
    const user = await registerUser();
    // Five sessions, so no single one reaches the five failures that revoke it before the limit answers.
    const sessions = await Promise.all(Array.from({ length: 5 }, () => login(user)));
    await expectRateLimitedAfter(10, (attempt) =>
      api("DELETE", "/me", {
        token: sessions[attempt % sessions.length]?.accessToken,
        body: { password: WRONG },
        ip: randomIp(),
      }),
    );
    expect((await rows("select id from users where id = ?", user.id)).length).toBe(1);
  });
});
