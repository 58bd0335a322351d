import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { networkOf } from "../src/http/client";
import { api, randomIp, registerUser, registerVerifiedAndLogin, type TestUser, unique } from "./support/api";
import { d1Usage } from "./support/d1-usage";
import { failuresOf, rows, suspendUser } from "./support/db";
import { expectFailure } from "./support/expect-failure";
import { emailsTo } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import { claims, consentAt, mintIdToken, pkcePair, SPA, TEST_OAUTH_PROVIDERS } from "./support/oauth";
import { addPasskey, signedAssertion } from "./support/passkey-api";
import { settled } from "./support/settled";

/*
 * The sign-in routes claim their single-use secret in the door's own batch
 * (src/auth/sign-in.ts, `Claim`): every write before the claim carries "the
 * secret is still there and matches". These tests fail when a write of that
 * batch loses its condition: they count what D1 holds (sessions, audit lines,
 * failure counters), not only what the responses say.
 */

const net = (ip: string) => `net:${networkOf(ip)}`;
const sessionsOf = async (userId: string) =>
  (await rows("select id from sessions where user_id = ? and revoked_at is null", userId)).length;
const auditCount = async (userId: string, action: string) =>
  (await rows("select id from audit_events where target_id = ? and action = ?", userId, action)).length;
const reactivate = (userId: string) =>
  env.DB.prepare("update users set status = 'active' where id = ?").bind(userId).run();

describe("POST /login/email-code/verify: the code is compared and claimed in the door's batch", () => {
  const verify = (email: string, code: string, ip = randomIp()) =>
    settled("POST", "/login/email-code/verify", { body: { email, code }, ip });
  async function mailedCode(email: string) {
    expect((await settled("POST", "/login/email-code", { body: { email } })).status).toBe(200);
    const mail = (await emailsTo(email)).filter((m) => m.subject === "Your sign-in code").at(-1);
    const code = /sign-in code is (\d{6})\./.exec(mail?.text ?? "")?.[1];
    if (!code) throw new Error(`no code mail to ${email}`);
    return code;
  }
  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

  it("parallel right codes on a never-verified account: one take-back, one session, one audit line", async () => {
    const user = await registerUser();
    const code = await mailedCode(user.email);
    const answers = await Promise.all(Array.from({ length: 6 }, () => verify(user.email, code)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of answers.filter((r) => r.status !== 200)) expectFailure(r, 401, "INVALID_EMAIL_CODE");
    expect(await sessionsOf(user.id)).toBe(1);
    expect(await auditCount(user.id, "account_reclaimed")).toBe(1);
    expect(await auditCount(user.id, "login_success")).toBe(1);
  });

  it("a wrong code on a never-verified account takes nothing back: the password still signs in", async () => {
    const user = await registerUser();
    const code = await mailedCode(user.email);
    expectFailure(await verify(user.email, wrong(code)), 401, "INVALID_EMAIL_CODE");
    expect(await auditCount(user.id, "account_reclaimed")).toBe(0);
    expect(await sessionsOf(user.id)).toBe(0);
    const [row] = await rows("select email_verified_at, has_password from users where id = ?", user.id);
    expect(row).toEqual({ email_verified_at: null, has_password: 1 });
    const signedIn = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    expect(signedIn.status).toBe(200);
  });

  it("parallel right codes on a verified account: exactly one session in D1", async () => {
    const { user } = await registerVerifiedAndLogin();
    const before = await sessionsOf(user.id);
    const code = await mailedCode(user.email);
    const answers = await Promise.all(Array.from({ length: 6 }, () => verify(user.email, code)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionsOf(user.id)).toBe(before + 1);
  });

  it("a wrong code is counted toward the lockout and on the code, and audited, in the same batch", async () => {
    const { user } = await registerVerifiedAndLogin();
    const ip = randomIp();
    const code = await mailedCode(user.email);
    const refused = await verify(user.email, wrong(code), ip);
    expectFailure(refused, 401, "INVALID_EMAIL_CODE");
    expect(d1Usage(refused).queries).toBe(2);
    expect(await failuresOf(user.email)).toEqual({ account: 1, [net(ip)]: 1 });
    expect(await auditCount(user.id, "login_failure")).toBe(1);
    const [stored] = await rows("select attempts from email_login_codes where user_id = ?", user.id);
    expect(stored?.attempts).toBe(1);
    // The right code still signs in, and gives the failures back.
    expect((await verify(user.email, code, ip)).status).toBe(200);
    expect(await failuresOf(user.email)).toEqual({});
  });

  it("a right code whose sign-in is refused (suspended) is still spent", async () => {
    const { user } = await registerVerifiedAndLogin();
    const code = await mailedCode(user.email);
    await suspendUser(user.id);
    expectFailure(await verify(user.email, code), 403, "ACCOUNT_SUSPENDED");
    await reactivate(user.id);
    expectFailure(await verify(user.email, code), 401, "INVALID_EMAIL_CODE");
    expect(await rows("select 1 from email_login_codes where user_id = ?", user.id)).toHaveLength(0);
  });
});

describe("POST /login/mfa: the token is claimed and the step recorded in the door's batch", () => {
  const passwordStep = async (user: TestUser, ip = randomIp()) => {
    const step = await api("POST", "/login", { ip, body: { email: user.email, password: user.password } });
    expect(step.body.data.mfaRequired).toBe(true);
    return step.body.data.mfaToken as string;
  };

  it("parallel right codes on one mfaToken: exactly one session in D1, the token gone", async () => {
    const { user, secret } = await enrolled();
    const before = await sessionsOf(user.id);
    const mfaToken = await passwordStep(user);
    const code = codeNow(secret);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => settled("POST", "/login/mfa", { body: { mfaToken, code } })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionsOf(user.id)).toBe(before + 1);
    expect(await rows("select 1 from mfa_challenges where user_id = ?", user.id)).toHaveLength(0);
  });

  it("parallel tokens with one code (one step): one session, the step is single use", async () => {
    const { user, secret } = await enrolled();
    const before = await sessionsOf(user.id);
    const tokens = [await passwordStep(user), await passwordStep(user), await passwordStep(user)];
    const code = codeNow(secret);
    const answers = await Promise.all(
      tokens.map((mfaToken) => settled("POST", "/login/mfa", { body: { mfaToken, code } })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionsOf(user.id)).toBe(before + 1);
  });

  it("a wrong code counts toward the lockout before the token's next try; the right one gives both back", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const mfaToken = await passwordStep(user, ip);
    const bad = String((Number(codeNow(secret)) + 500_000) % 1_000_000).padStart(6, "0");
    expectFailure(await api("POST", "/login/mfa", { ip, body: { mfaToken, code: bad } }), 401, "INVALID_MFA_CODE");
    // The password step's attempt stays counted until the second step completes, plus the wrong code.
    expect(await failuresOf(user.email)).toEqual({ account: 2, [net(ip)]: 2 });
    const [token] = await rows("select attempts from mfa_challenges where user_id = ?", user.id);
    expect(token?.attempts).toBe(1);
    expect((await api("POST", "/login/mfa", { ip, body: { mfaToken, code: codeNow(secret) } })).status).toBe(200);
    expect(await failuresOf(user.email)).toEqual({});
  });

  it("a right code whose sign-in is refused (suspended) still spends the token and the step", async () => {
    const { user, secret } = await enrolled();
    const mfaToken = await passwordStep(user);
    await suspendUser(user.id);
    const code = codeNow(secret);
    expectFailure(await api("POST", "/login/mfa", { body: { mfaToken, code } }), 403, "ACCOUNT_SUSPENDED");
    await reactivate(user.id);
    expectFailure(await api("POST", "/login/mfa", { body: { mfaToken, code } }), 401, "INVALID_MFA_TOKEN");
    const next = await passwordStep(user);
    expectFailure(await api("POST", "/login/mfa", { body: { mfaToken: next, code } }), 401, "INVALID_MFA_CODE");
  });
});

describe("POST /passkeys/login: the counter is stored at the end of the door's batch", () => {
  it("two assertions with one counter (a cloned authenticator) in parallel: one session, the other audited", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator, passkey } = await addPasskey(s);
    const before = await sessionsOf(s.user.id);
    const [a, b] = [
      await signedAssertion(authenticator, s.user.email, { counter: 7 }),
      await signedAssertion(authenticator, s.user.email, { counter: 7 }),
    ];
    const answers = await Promise.all([a, b].map((body) => settled("POST", "/passkeys/login", { body })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await sessionsOf(s.user.id)).toBe(before + 1);
    const regressions = await rows(
      "select details from audit_events where target_id = ? and action = 'login_failure'",
      s.user.id,
    );
    expect(regressions.map((r) => JSON.parse(String(r.details)))).toEqual([
      expect.objectContaining({ via: "passkey", reason: "counter_regression", passkeyId: passkey.id }),
    ]);
  });

  it("a replayed assertion in parallel: one session", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    const before = await sessionsOf(s.user.id);
    const body = await signedAssertion(authenticator, s.user.email);
    const answers = await Promise.all(Array.from({ length: 4 }, () => settled("POST", "/passkeys/login", { body })));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionsOf(s.user.id)).toBe(before + 1);
  });

  it("an assertion whose sign-in is refused (suspended) still moves the counter", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    await suspendUser(s.user.id);
    const refused = await settled("POST", "/passkeys/login", {
      body: await signedAssertion(authenticator, s.user.email, { counter: 9 }),
    });
    expectFailure(refused, 403, "ACCOUNT_SUSPENDED");
    await reactivate(s.user.id);
    const [stored] = await rows("select counter from passkey_credentials where user_id = ?", s.user.id);
    expect(stored?.counter).toBe(9);
    const again = await settled("POST", "/passkeys/login", {
      body: await signedAssertion(authenticator, s.user.email, { counter: 9 }),
    });
    expectFailure(again, 401, "INVALID_CREDENTIALS");
  });
});

const OAUTH = { OAUTH_PROVIDERS: TEST_OAUTH_PROVIDERS, CORS_ORIGINS: SPA };

/** A browser sign-in at the local provider up to our callback: the callback's answer and the SPA's PKCE pair. */
async function throughCallback(sub: string, email?: string) {
  const spa = await pkcePair();
  const query = new URLSearchParams({
    redirect_uri: `${SPA}/done`,
    code_challenge: spa.challenge,
    code_challenge_method: "S256",
  });
  const start = await settled("GET", `/oauth/acme/authorize?${query}`, { bindings: OAUTH });
  const back = await consentAt(start.headers.get("location") ?? "", { sub, ...(email && { email }) });
  const landed = await settled("GET", `/oauth/acme/callback?${new URLSearchParams(back.params)}`, { bindings: OAUTH });
  return { spa, landed };
}

describe("POST /oauth/token: a wrong verifier", () => {
  it("is counted toward the lockout and audited in one batch, and spends the code", async () => {
    const { spa, landed } = await throughCallback(unique("sub-"));
    const code = new URL(landed.headers.get("location") ?? "").searchParams.get("code");
    const ip = randomIp();
    const other = await pkcePair();
    const refused = await settled("POST", "/oauth/token", {
      ip,
      bindings: OAUTH,
      body: { code, codeVerifier: other.verifier },
    });
    expectFailure(refused, 401, "INVALID_LOGIN_CODE");
    expect(d1Usage(refused).queries).toBe(2);
    const failures = await rows(
      "select target_id, details from audit_events where action = 'login_failure' and details like '%oauth/token%' and ip = ?",
      ip,
    );
    expect(failures).toHaveLength(1);
    const [user] = await rows("select email from users where id = ?", failures[0]?.target_id);
    expect(await failuresOf(String(user?.email))).toEqual({ account: 1, [net(ip)]: 1 });
    const retried = await settled("POST", "/oauth/token", {
      bindings: OAUTH,
      body: { code, codeVerifier: spa.verifier },
    });
    expectFailure(retried, 401, "INVALID_LOGIN_CODE");
  });
});

describe("round trips of the paths the budget table does not take", () => {
  const idToken = async (overrides: Record<string, unknown>) =>
    settled("POST", "/oauth/acme/id-token", {
      bindings: OAUTH,
      body: { idToken: await mintIdToken(claims(overrides)) },
    });
  const callback = async (sub: string, email?: string) => (await throughCallback(sub, email)).landed;

  it("POST /oauth/:provider/id-token: 3 for a known identity, 4 for an automatic link", async () => {
    const sub = unique("sub-");
    const email = `${unique("native")}@idp.test`;
    expect((await idToken({ sub, email })).status).toBe(200);
    const again = await idToken({ sub, email });
    expect(again.status).toBe(200);
    expect(d1Usage(again).queries).toBe(3);
    const { user } = await registerVerifiedAndLogin();
    const linked = await idToken({ sub: unique("sub-"), email: user.email });
    expect(linked.status).toBe(200);
    expect(d1Usage(linked).queries).toBe(4);
    expect(await auditCount(user.id, "identity_link")).toBe(1);
  });

  it("GET /oauth/:provider/callback: 3 for a known identity, 4 for an automatic link", async () => {
    const sub = unique("sub-");
    expect((await callback(sub)).status).toBe(302);
    const known = await callback(sub);
    expect(new URL(known.headers.get("location") ?? "").searchParams.get("code")).toBeTruthy();
    expect(d1Usage(known).queries).toBe(3);
    const { user } = await registerVerifiedAndLogin();
    const linked = await callback(unique("sub-"), user.email);
    expect(new URL(linked.headers.get("location") ?? "").searchParams.get("code")).toBeTruthy();
    expect(d1Usage(linked).queries).toBe(4);
    expect(await auditCount(user.id, "identity_link")).toBe(1);
  });

  it("POST /login/mfa with a recovery code: 4", async () => {
    const { user, recoveryCodes } = await enrolled();
    const step = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    const done = await settled("POST", "/login/mfa", {
      body: { mfaToken: step.body.data.mfaToken, recoveryCode: recoveryCodes[0] },
    });
    expect(done.status).toBe(200);
    expect(d1Usage(done).queries).toBe(4);
  });
});
