import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { issueStepUpCode, verifyStepUpCode } from "../src/auth/email-code/step-up-codes";
import { createDb } from "../src/db/client";
import { MAX_MAILS_PER_HOUR } from "../src/mail/quota";
import { registerAndLogin, setRole, unique } from "./support/api";
import { SoftwareAuthenticator } from "./support/authenticator";
import { d1Usage } from "./support/d1-usage";
import { rows } from "./support/db";
import { expectFailure, expectUnauthorized } from "./support/expect-failure";
import { emailsTo } from "./support/mailbox";
import { codeNow } from "./support/mfa-api";
import { claims, consentAt, mintIdToken, pkcePair, SPA, TEST_OAUTH_PROVIDERS } from "./support/oauth";
import { ORIGIN } from "./support/passkeys";
import { sessionIdOf } from "./support/sessions";
import { settled } from "./support/settled";
import { base32Decode } from "./support/totp";

/*
 * Step-up by emailed code for accounts without a password (POST
 * /me/reauthenticate/email-code, then POST /me/reauthenticate { emailCode }),
 * from the attacker's side and then in real use. Accounts are made by social
 * sign-in at the local provider; codes are read from the captured mail only.
 */

const bindings = { OAUTH_PROVIDERS: TEST_OAUTH_PROVIDERS, CORS_ORIGINS: SPA };
type Options = Parameters<typeof settled>[2];
const call = (method: string, path: string, options: Options = {}) =>
  settled(method, path, { ...options, bindings: { ...bindings, ...options?.bindings } });

type Social = { accessToken: string; email: string; userId: string };

/** A social-only account (no password), signed in with an ID token from the local provider. */
async function socialAccount(): Promise<Social> {
  const email = `${unique("social_")}@idp.test`;
  const res = await call("POST", "/oauth/acme/id-token", { body: { idToken: await mintIdToken(claims({ email })) } });
  expect(res.status).toBe(200);
  expect((await call("GET", "/me", { token: res.body.data.accessToken })).body.data.hasPassword).toBe(false);
  return { accessToken: res.body.data.accessToken, email, userId: res.body.data.user.id };
}

/** A second session of the same account (another ID-token sign-in). */
async function secondSession(account: Social): Promise<Social> {
  const [identity] = await rows("select subject from oauth_identities where user_id = ?", account.userId);
  const idToken = await mintIdToken(claims({ email: account.email, sub: identity?.subject }));
  const res = await call("POST", "/oauth/acme/id-token", { body: { idToken } });
  expect(res.status).toBe(200);
  return { ...account, accessToken: res.body.data.accessToken };
}

const CONFIRM = "Your confirmation code";
const SIGN_IN = "Your sign-in code";
const codesIn = async (email: string, subject: string) =>
  (await emailsTo(email)).filter((m) => m.subject === subject).map((m) => / is (\d{6})\./.exec(m.text)?.[1] ?? "");

const askForCode = (token: string) => call("POST", "/me/reauthenticate/email-code", { token });

/** Asks for a step-up code on this session and reads it from the new mail. */
async function stepUpCode(account: Social): Promise<string> {
  const before = (await codesIn(account.email, CONFIRM)).length;
  const res = await askForCode(account.accessToken);
  expect(res.status).toBe(200);
  expect(res.body.data).toEqual({ expiresIn: 600 });
  const codes = await codesIn(account.email, CONFIRM);
  expect(codes).toHaveLength(before + 1);
  return codes.at(-1) ?? "";
}

const reauth = (token: string, body: Record<string, unknown>) => call("POST", "/me/reauthenticate", { token, body });
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");
const passkeyOptions = (token: string, body: Record<string, unknown> = {}) =>
  call("POST", "/me/passkeys/options", { token, body });

describe("step-up codes (service)", () => {
  /** Service dependencies over the real D1, with a clock the test moves. */
  function codeDeps() {
    let now = Date.now();
    return {
      deps: { db: createDb(env.DB), secret: env.JWT_SECRET, now: () => now },
      advance: (ms: number) => (now += ms),
    };
  }

  it("allows 5 tries per code: after 5 wrong ones the right code is dead too", async () => {
    const account = await socialAccount();
    const owner = { userId: account.userId, sessionId: sessionIdOf(account), email: account.email };
    const { deps } = codeDeps();
    const { code } = await issueStepUpCode(deps, owner);
    for (let i = 0; i < 5; i++) expect(await verifyStepUpCode(deps, owner, wrong(code))).toBe(false);
    expect(await verifyStepUpCode(deps, owner, code)).toBe(false);
    const fresh = await issueStepUpCode(deps, owner);
    expect(await verifyStepUpCode(deps, owner, fresh.code)).toBe(true);
    expect(await verifyStepUpCode(deps, owner, fresh.code)).toBe(false);
  });

  it("lives 10 minutes, and is bound to its account, session and address", async () => {
    const account = await socialAccount();
    const owner = { userId: account.userId, sessionId: sessionIdOf(account), email: account.email };
    const { deps, advance } = codeDeps();
    const { code } = await issueStepUpCode(deps, owner);
    const other = await socialAccount();
    expect(await verifyStepUpCode(deps, { ...owner, userId: other.userId }, code)).toBe(false);
    expect(await verifyStepUpCode(deps, { ...owner, sessionId: sessionIdOf(other) }, code)).toBe(false);
    expect(await verifyStepUpCode(deps, { ...owner, email: other.email }, code)).toBe(false);
    advance(10 * 60 * 1000);
    expect(await verifyStepUpCode(deps, owner, code)).toBe(false);
  });
});

describe("POST /me/reauthenticate/email-code", () => {
  it("mails this account's verified address a code after the response, never in the answer", async () => {
    const account = await socialAccount();
    const res = await askForCode(account.accessToken);
    expect(res.status).toBe(200);
    const [mail] = (await emailsTo(account.email)).filter((m) => m.subject === CONFIRM);
    const code = / is (\d{6})\./.exec(mail?.text ?? "")?.[1] ?? "missing";
    expect(code).toMatch(/^\d{6}$/);
    expect(JSON.stringify(res.body)).not.toContain(code);
    const stored = await rows("select * from step_up_codes where user_id = ?", account.userId);
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(code);
  });

  it("refuses an account that has a password (403 FORBIDDEN), sends nothing, and an emailCode proof too", async () => {
    const session = await registerAndLogin();
    expectFailure(await askForCode(session.accessToken), 403, "FORBIDDEN");
    expectFailure(await reauth(session.accessToken, { emailCode: "123456" }), 403, "FORBIDDEN");
    expect(await codesIn(session.user.email, CONFIRM)).toEqual([]);
    expect(await rows("select 1 from step_up_codes where user_id = ?", session.user.id)).toEqual([]);
  });

  it("needs a session, and has its own hourly mail budget: strangers asking for sign-in codes cannot spend it", async () => {
    expectUnauthorized(await askForCode("not-a-token"));
    const account = await socialAccount();
    for (let i = 0; i < MAX_MAILS_PER_HOUR + 1; i++)
      expect((await call("POST", "/login/email-code", { body: { email: account.email } })).status).toBe(200);
    for (let i = 0; i < MAX_MAILS_PER_HOUR; i++) expect((await askForCode(account.accessToken)).status).toBe(200);
    expectFailure(await askForCode(account.accessToken), 429, "TOO_MANY_REQUESTS");
    expect(await codesIn(account.email, CONFIRM)).toHaveLength(MAX_MAILS_PER_HOUR);
  });
});

describe("POST /me/reauthenticate { emailCode }", () => {
  it("sets this session's proof: a step-up action passes with {} and the audit says emailCode", async () => {
    const account = await socialAccount();
    expectFailure(await passkeyOptions(account.accessToken), 403, "REAUTHENTICATION_REQUIRED");
    const proven = await reauth(account.accessToken, { emailCode: await stepUpCode(account) });
    expect(proven.status).toBe(200);
    expect(proven.body.data).toEqual({ stepUpExpiresIn: expect.any(Number) });
    expect((await passkeyOptions(account.accessToken)).status).toBe(200);
    const [audit] = await rows(
      "select details from audit_events where target_id = ? and action = 'reauthenticate'",
      account.userId,
    );
    expect(JSON.parse(String(audit?.details))).toEqual({ method: "emailCode" });
  });

  it("a login code is no step-up code and a step-up code signs nobody in, even with both live", async () => {
    const account = await socialAccount();
    expect((await call("POST", "/login/email-code", { body: { email: account.email } })).status).toBe(200);
    const [loginCode = ""] = await codesIn(account.email, SIGN_IN);
    const stepUp = await stepUpCode(account);
    expectFailure(await reauth(account.accessToken, { emailCode: loginCode }), 401, "INVALID_EMAIL_CODE");
    const asLogin = await call("POST", "/login/email-code/verify", { body: { email: account.email, code: stepUp } });
    expectFailure(asLogin, 401, "INVALID_EMAIL_CODE");
    // Each still works for its own purpose: the refusals were about purpose, not dead codes.
    expect((await reauth(account.accessToken, { emailCode: stepUp })).status).toBe(200);
    const signIn = await call("POST", "/login/email-code/verify", { body: { email: account.email, code: loginCode } });
    expect(signIn.status).toBe(200);
  });

  it("another account's code, and this account's code from another session, are refused", async () => {
    const [alice, mallory] = await Promise.all([socialAccount(), socialAccount()]);
    const alicesCode = await stepUpCode(alice);
    await stepUpCode(mallory);
    expectFailure(await reauth(mallory.accessToken, { emailCode: alicesCode }), 401, "INVALID_EMAIL_CODE");
    const aliceElsewhere = await secondSession(alice);
    expectFailure(await reauth(aliceElsewhere.accessToken, { emailCode: alicesCode }), 401, "INVALID_EMAIL_CODE");
    expectFailure(await passkeyOptions(aliceElsewhere.accessToken), 403, "REAUTHENTICATION_REQUIRED");
    expect((await reauth(alice.accessToken, { emailCode: alicesCode })).status).toBe(200);
  });

  it("is single use: a replay is refused, and of parallel claims exactly one proves", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    const results = await Promise.all([1, 2, 3].map(() => reauth(account.accessToken, { emailCode: code })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    expectFailure(await reauth(account.accessToken, { emailCode: code }), 401, "INVALID_EMAIL_CODE");
    const proofs = await rows(
      "select 1 from audit_events where target_id = ? and action = 'reauthenticate'",
      account.userId,
    );
    expect(proofs).toHaveLength(1);
  });

  it("a code mailed to an address the account has since left is dead", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    await rows("update users set email = ? where id = ?", `${unique("moved_")}@idp.test`, account.userId);
    expectFailure(await reauth(account.accessToken, { emailCode: code }), 401, "INVALID_EMAIL_CODE");
  });

  it("an account whose address is not verified gets no code and cannot use one (403 EMAIL_NOT_VERIFIED)", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    await rows("update users set email_verified_at = null where id = ?", account.userId);
    expectFailure(await askForCode(account.accessToken), 403, "EMAIL_NOT_VERIFIED");
    expectFailure(await reauth(account.accessToken, { emailCode: code }), 403, "EMAIL_NOT_VERIFIED");
  });

  it("dies after 10 minutes", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    await rows("update step_up_codes set expires_at = ? where user_id = ?", new Date().toISOString(), account.userId);
    expectFailure(await reauth(account.accessToken, { emailCode: code }), 401, "INVALID_EMAIL_CODE");
  });

  it("wrong codes revoke the session at its failure budget, like wrong passwords; malformed ones count", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    for (const guess of ["abc", wrong(code), wrong(wrong(code)), "1234567", wrong(code)]) {
      expectFailure(await reauth(account.accessToken, { emailCode: guess }), 401, "INVALID_EMAIL_CODE");
    }
    expectUnauthorized(await reauth(account.accessToken, { emailCode: code }));
    const [failure] = await rows(
      "select details from audit_events where target_id = ? and action = 'login_failure' order by created_at desc limit 1",
      account.userId,
    );
    expect(JSON.parse(String(failure?.details))).toMatchObject({ via: "reauthenticate", sessionRevoked: true });
  });

  it("parallel wrong guesses on one session compare at most five times", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    const guesses = Array.from({ length: 12 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0"));
    const results = await Promise.all(guesses.map((g) => reauth(account.accessToken, { emailCode: g })));
    expect(results.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    const [row] = await rows("select attempts from step_up_codes where user_id = ?", account.userId);
    expect(Number(row?.attempts ?? 5)).toBeLessThanOrEqual(5);
  });

  it("the right code in a burst of wrong ones that will end the session: 401, never a 200 for a dead session (L1)", async () => {
    for (let round = 0; round < 3; round++) {
      const account = await socialAccount();
      const code = await stepUpCode(account);
      // The right code first, so its attempt is reserved before the wrong ones; they reach the session's
      // failure budget while it is compared, and the failure that ends the session lands after its write.
      const burst = [
        code,
        ...Array.from({ length: 9 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0")),
      ];
      const [right] = await Promise.all(burst.map((g) => reauth(account.accessToken, { emailCode: g })));
      const alive = (await call("GET", "/me", { token: account.accessToken })).status === 200;
      if (right?.status === 200) expect(alive).toBe(true);
      else expect(right?.status).toBe(401);
      const proven = await rows("select last_proof_at from sessions where id = ?", sessionIdOf(account));
      if (!alive) expect(proven[0]?.last_proof_at ?? null).toBeNull();
    }
  });

  it("with MFA on, the email code is one factor: reauthenticate needs the TOTP code too, and codeRequired actions still ask for it", async () => {
    const account = await socialAccount();
    expect((await reauth(account.accessToken, { emailCode: await stepUpCode(account) })).status).toBe(200);
    const started = await call("POST", "/me/mfa/totp", { token: account.accessToken, body: {} });
    expect(started.status).toBe(200);
    const secret = base32Decode(started.body.data.secret);
    const confirm = await call("POST", "/me/mfa/totp/confirm", {
      token: account.accessToken,
      body: { code: codeNow(secret, -1) },
    });
    expect(confirm.status).toBe(200);

    const emailCode = await stepUpCode(account);
    const noTotp = await reauth(account.accessToken, { emailCode });
    expectFailure(noTotp, 400, "VALIDATION_ERROR");
    const withTotp = await reauth(account.accessToken, { emailCode, code: codeNow(secret) });
    expect(withTotp.status).toBe(200);
    // A recent proof is not enough to turn MFA off: a right TOTP code is asked for every time.
    const off = (body: Record<string, unknown>) => call("DELETE", "/me/mfa/totp", { token: account.accessToken, body });
    expectFailure(await off({}), 400, "VALIDATION_ERROR");
    expectFailure(await off({ code: wrong(codeNow(secret, 1)) }), 401, "INVALID_MFA_CODE");
    expect((await off({ code: codeNow(secret, 1) })).status).toBe(200);
  });
});

describe("a social-only account steps up by email code", () => {
  it("under REQUIRE_MFA_ROLES an admin without a password can still step up and enrol", async () => {
    const account = await socialAccount();
    await setRole(account.userId, "admin");
    const token = account.accessToken;
    const mfaRoles = { bindings: { REQUIRE_MFA_ROLES: "admin" } };
    expectFailure(await call("GET", "/me/passkeys", { token, ...mfaRoles }), 403, "MFA_ENROLLMENT_REQUIRED");
    expect((await call("POST", "/me/reauthenticate/email-code", { token, ...mfaRoles })).status).toBe(200);
    const [code] = await codesIn(account.email, CONFIRM);
    const proven = await call("POST", "/me/reauthenticate", { token, body: { emailCode: code }, ...mfaRoles });
    expect(proven.status).toBe(200);
    expect((await call("POST", "/me/mfa/totp", { token, body: {}, ...mfaRoles })).status).toBe(200);
  });

  it("adds a passkey, links a second identity, then unlinks the first", async () => {
    const account = await socialAccount();
    const token = account.accessToken;
    expect((await reauth(token, { emailCode: await stepUpCode(account) })).status).toBe(200);

    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const options = await passkeyOptions(token);
    expect(options.status).toBe(200);
    const response = await authenticator.register(options.body.data.options);
    expect((await call("POST", "/me/passkeys", { token, body: { response } })).status).toBe(201);

    const spa = await pkcePair();
    const started = await call("POST", "/me/identities/google", {
      token,
      body: { redirectUri: `${SPA}/oauth/done`, codeChallenge: spa.challenge },
    });
    expect(started.status).toBe(200);
    const back = await consentAt(started.body.data.authorizeUrl, { sub: `sub-${crypto.randomUUID()}` });
    const landed = await call("GET", `/oauth/google/callback?${new URLSearchParams(back.params)}`);
    const code = new URL(landed.headers.get("location") ?? "").searchParams.get("code");
    const linked = await call("POST", "/me/identities", { token, body: { code, codeVerifier: spa.verifier } });
    expect(linked.status).toBe(201);

    const identities = (await call("GET", "/me/identities", { token })).body.data as { id: string; provider: string }[];
    expect(identities.map((i) => i.provider).sort()).toEqual(["acme", "google"]);
    const acme = identities.find((i) => i.provider === "acme");
    expect((await call("DELETE", `/me/identities/${acme?.id}`, { token, body: {} })).status).toBe(200);
    expect(await rows("select provider from oauth_identities where user_id = ?", account.userId)).toEqual([
      { provider: "google" },
    ]);
  });

  it("deletes itself: refused without proof, done after an email-code re-authentication", async () => {
    const account = await socialAccount();
    const remove = () => call("DELETE", "/me", { token: account.accessToken, body: {} });
    expectFailure(await remove(), 403, "REAUTHENTICATION_REQUIRED");
    expect((await reauth(account.accessToken, { emailCode: await stepUpCode(account) })).status).toBe(200);
    expect((await remove()).status).toBe(200);
    expect(await rows("select id from users where id = ?", account.userId)).toEqual([]);
  });

  it("costs a fixed number of D1 round trips", async () => {
    const account = await socialAccount();
    const code = await stepUpCode(account);
    const res = await reauth(account.accessToken, { emailCode: code });
    expect(res.status).toBe(200);
    // The check, the reservation and the code's attempt in one batch; the proof, the clearing and the code's claim in one.
    expect(d1Usage(res).queries).toBe(2);
  });
});
