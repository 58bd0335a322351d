import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { registrationOptions, verifyRegistration } from "../src/auth/passkeys/registration";
import { api, registerAndLogin, registerVerifiedAndLogin, type Session } from "./support/api";
import { SoftwareAuthenticator } from "./support/authenticator";
import { d1Timing } from "./support/d1-usage";
import { codeNow, enrolled } from "./support/mfa-api";
import { pkcePair, SPA, TEST_OAUTH_PROVIDERS } from "./support/oauth";
import { CALLER, ORIGIN, passkeyDeps } from "./support/passkeys";
import { settled } from "./support/settled";

/**
 * Step-up writes in two D1 round trips (issue #15): the guard's check rides
 * in the batch that reserves the proof's attempt (keyed in SQL, carrying the
 * check), and the route's write rides with the clearing of the attempt and
 * the claim of the code's TOTP step. These tests pin the security properties
 * that layout has to keep; test/route-budgets.test.ts pins the numbers.
 */

const WRONG = "not-the-password-1";

/** The failure counters of an email, summed per scope. */
async function counters(email: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("select scope, failures from login_failures where email = ?")
    .bind(email)
    .all<{ scope: string; failures: number }>();
  return Object.fromEntries(results.filter((r) => r.failures > 0).map((r) => [r.scope.split(":")[0], r.failures]));
}

const audited = async (userId: string, action: string) =>
  (
    await env.DB.prepare("select count(*) as n from audit_events where target_id = ? and action = ?")
      .bind(userId, action)
      .first<{ n: number }>()
  )?.n ?? 0;

/** Social sign-in configured, for the identity routes. */
const OAUTH = { OAUTH_PROVIDERS: TEST_OAUTH_PROVIDERS, CORS_ORIGINS: SPA };
type Case = [string, (s: Session) => string, (s: Session) => Promise<unknown> | unknown, Record<string, unknown>?];
const path = (p: string) => () => p;

/** Each route's step-up with a wrong password: the route, its path, a body, bindings. */
const WRONG_PASSWORD: Case[] = [
  ["DELETE /me", path("/me"), () => ({ password: WRONG })],
  ["DELETE /user/:ownId", (s) => `/user/${s.user.id}`, () => ({ password: WRONG })],
  [
    "POST /me/password",
    path("/me/password"),
    () => ({ currentPassword: WRONG, newPassword: "another-horse-battery-7" }),
  ],
  ["POST /me/reauthenticate", path("/me/reauthenticate"), () => ({ password: WRONG })],
  ["POST /me/mfa/totp", path("/me/mfa/totp"), () => ({ currentPassword: WRONG })],
  ["POST /me/passkeys/options", path("/me/passkeys/options"), () => ({ currentPassword: WRONG })],
  ["DELETE /me/passkeys/:id", path(`/me/passkeys/${crypto.randomUUID()}`), () => ({ currentPassword: WRONG })],
  [
    "POST /me/identities/:provider",
    path("/me/identities/acme"),
    async () => ({ redirectUri: `${SPA}/done`, codeChallenge: (await pkcePair()).challenge, currentPassword: WRONG }),
    OAUTH,
  ],
  [
    "DELETE /me/identities/:id",
    path(`/me/identities/${crypto.randomUUID()}`),
    () => ({ currentPassword: WRONG }),
    OAUTH,
  ],
];

describe("the reservation rides with the session check", () => {
  it.each(WRONG_PASSWORD)(
    "%s: a wrong password costs two round trips and counts one failure",
    async (route, at, body, bindings) => {
      const method = route.split(" ")[0] ?? "";
      const s = await registerVerifiedAndLogin();
      const res = await settled(method, at(s), { token: s.accessToken, body: await body(s), bindings });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("INVALID_CREDENTIALS");
      // 1: check + reservation; 2: the failure's audit.
      expect(d1Timing(res).queries).toBe(2);
      expect(await counters(s.user.email)).toEqual({ account: 1, net: 1, session: 1 });
    },
  );

  it.each([
    ...WRONG_PASSWORD,
    ["POST /me/mfa/totp/confirm", path("/me/mfa/totp/confirm"), () => ({ code: "000000" })] as Case,
    ["DELETE /me/mfa/totp", path("/me/mfa/totp"), () => ({ currentPassword: WRONG, code: "000000" })] as Case,
  ])("%s: on an ended session nothing is counted and nothing compared", async (route, at, body, bindings) => {
    const method = route.split(" ")[0] ?? "";
    const s = await registerVerifiedAndLogin();
    expect((await api("POST", "/logout", { token: s.accessToken })).status).toBe(200);
    const res = await settled(method, at(s), { token: s.accessToken, body: await body(s), bindings });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHORIZED");
    // The upserts carry the guard's condition: a dead session's attempt inserts no counter at all.
    expect(await counters(s.user.email)).toEqual({});
  });

  it("an unverified account asking for passkey options spends no attempt (the condition carries the rule)", async () => {
    const s = await registerAndLogin();
    const res = await api("POST", "/me/passkeys/options", {
      token: s.accessToken,
      body: { currentPassword: s.user.password },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("EMAIL_NOT_VERIFIED");
    expect(await counters(s.user.email)).toEqual({});
  });
});

describe("a refusal decided on the loaded row gives the reserved attempt back", () => {
  it("DELETE /me/mfa/totp with MFA off: 404, no failure left behind", async () => {
    const s = await registerVerifiedAndLogin();
    const res = await api("DELETE", "/me/mfa/totp", {
      token: s.accessToken,
      body: { currentPassword: s.user.password, code: "123456" },
    });
    expect(res.status).toBe(404);
    expect(await counters(s.user.email)).toEqual({});
  });

  it("with MFA on, a password without a code (and no recent proof): 403, no failure left behind", async () => {
    const e = await enrolled();
    const res = await api("DELETE", "/me", { token: e.session.accessToken, body: { password: e.user.password } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("REAUTHENTICATION_REQUIRED");
    expect(await counters(e.user.email)).toEqual({});
    expect((await api("GET", "/me", { token: e.session.accessToken })).status).toBe(200);
  });

  it("password and code are one attempt: a right password with a wrong code counts one failure", async () => {
    const e = await enrolled();
    const res = await settled("POST", "/me/mfa/recovery-codes", {
      token: e.session.accessToken,
      body: { currentPassword: e.user.password, code: "000000" },
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("INVALID_MFA_CODE");
    expect(d1Timing(res).queries).toBe(2);
    expect(await counters(e.user.email)).toEqual({ account: 1, net: 1, session: 1 });
    expect(await audited(e.user.id, "mfa_failure")).toBe(1);
  });
});

describe("with MFA on, password and code still make two round trips", () => {
  it.each([
    ["POST", "/me/reauthenticate", (password: string, code: string) => ({ password, code })],
    [
      "POST",
      "/me/password",
      (password: string, code: string) => ({ currentPassword: password, newPassword: "another-horse-battery-7", code }),
    ],
    ["DELETE", "/me", (password: string, code: string) => ({ password, code })],
  ])("%s %s", async (method, at, body) => {
    const e = await enrolled();
    const res = await settled(method, at, {
      token: e.session.accessToken,
      body: body(e.user.password, codeNow(e.secret)),
    });
    expect(res.status).toBe(200);
    expect(d1Timing(res).queries).toBe(2);
    expect(await counters(e.user.email)).toEqual({});
  });
});

describe("one TOTP code, sent in parallel: its step is claimed in the write's batch, and only that batch writes", () => {
  it("POST /me/mfa/recovery-codes: exactly one new set", async () => {
    const e = await enrolled();
    const body = { currentPassword: e.user.password, code: codeNow(e.secret) };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => api("POST", "/me/mfa/recovery-codes", { token: e.session.accessToken, body })),
    );
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) {
      expect(lost.status).toBe(401);
      expect(lost.body.error.code).toBe("INVALID_MFA_CODE");
    }
    expect(await audited(e.user.id, "recovery_codes_regenerated")).toBe(1);
    // The winner's set is the only one: the losers stored no codes.
    const codes = await env.DB.prepare("select count(*) as n from recovery_codes where user_id = ?")
      .bind(e.user.id)
      .first<{ n: number }>();
    expect(codes?.n).toBe(10);
  });

  it("DELETE /me/mfa/totp: MFA goes off once, one audit line", async () => {
    const e = await enrolled();
    const body = { currentPassword: e.user.password, code: codeNow(e.secret) };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => api("DELETE", "/me/mfa/totp", { token: e.session.accessToken, body })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    // A loser either lost the step (401) or came after MFA was off (404): never a second write.
    for (const lost of answers.filter((a) => a.status !== 200)) expect([401, 404]).toContain(lost.status);
    expect(await audited(e.user.id, "mfa_disable")).toBe(1);
  });

  it("POST /me/password: one new password, the others change nothing", async () => {
    const e = await enrolled();
    const code = codeNow(e.secret);
    const answers = await Promise.all(
      ["first-horse-battery-1", "second-horse-battery-2", "third-horse-battery-3"].map((newPassword) =>
        api("POST", "/me/password", {
          token: e.session.accessToken,
          body: { currentPassword: e.user.password, newPassword, code },
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(await audited(e.user.id, "password_change")).toBe(1);
  });

  it("a replayed code after its step was used is refused and changes nothing", async () => {
    const e = await enrolled();
    const body = { currentPassword: e.user.password, code: codeNow(e.secret) };
    const first = await api("POST", "/me/mfa/recovery-codes", { token: e.session.accessToken, body });
    expect(first.status).toBe(200);
    const replay = await api("POST", "/me/mfa/recovery-codes", { token: e.session.accessToken, body });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe("INVALID_MFA_CODE");
    expect(await audited(e.user.id, "recovery_codes_regenerated")).toBe(1);
  });
});

describe("passkey registration", () => {
  it("refused because the session ended after the challenge's claim: session_ended, nothing stored (401 at the route)", async () => {
    const s = await registerVerifiedAndLogin();
    const { deps } = passkeyDeps();
    const user = { id: s.user.id, email: s.user.email, username: s.user.username };
    const options = await registrationOptions(deps, user, CALLER);
    const response = await (await SoftwareAuthenticator.create(ORIGIN)).register(options);
    // A stand-in for the session condition that holds at the claim (the challenge is there) and no longer at the
    // insert (the claim took it): exactly what a logout landing between the two does to the real one.
    const holds = sql`exists (select 1 from webauthn_challenges where user_id = ${s.user.id})`;
    const result = await verifyRegistration(deps, s.user.id, CALLER, response, undefined, { holds });
    expect(result).toEqual({ ok: false, reason: "session_ended" });
    const stored = await env.DB.prepare("select count(*) as n from passkey_credentials where user_id = ?")
      .bind(s.user.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });
});
