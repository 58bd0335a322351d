import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NO_PASSWORD } from "../src/auth/sign-in-methods";
import { sha256Hex } from "../src/auth/tokens";
import {
  login,
  randomIp,
  registerUser,
  registerVerifiedAndLogin,
  type Session,
  STRONG_PASSWORD,
  unique,
} from "./support/api";
import { rows, suspendUser } from "./support/db";
import { detailPaths, expectFailure } from "./support/expect-failure";
import { emailsTo } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import {
  type AtProvider,
  claims,
  consentAt,
  IDP,
  mintIdToken,
  pkcePair,
  providerStats,
  SPA,
  TEST_OAUTH_PROVIDERS,
} from "./support/oauth";
import { TEST_OAUTH_CLIENT } from "./support/oidc-client";
import { expectRateLimitedAfter } from "./support/rate-limit";
import { settled } from "./support/settled";

/** The Worker with the local provider configured and the SPA's origin allowed. */
const bindings = { OAUTH_PROVIDERS: TEST_OAUTH_PROVIDERS, CORS_ORIGINS: SPA };
type Options = Parameters<typeof settled>[2];
const call = (method: string, path: string, options: Options = {}) =>
  settled(method, path, { ...options, bindings: { ...bindings, ...options?.bindings } });

type Id = "acme" | "google" | "github";
const DONE = `${SPA}/oauth/done`;
const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** GET /oauth/:provider/authorize as the SPA's browser would, with a fresh PKCE pair. */
async function authorize(id: Id, redirectUri = DONE) {
  const spa = await pkcePair();
  const res = await call(
    "GET",
    `/oauth/${id}/authorize?${query({ redirect_uri: redirectUri, code_challenge: spa.challenge, code_challenge_method: "S256" })}`,
  );
  return { res, spa };
}

/** Follows the provider's redirect back to our callback; returns where the callback sent the browser. */
async function callback(id: Id, params: Record<string, string>, ip?: string) {
  const res = await call("GET", `/oauth/${id}/callback?${query(params)}`, { ip });
  return { res, landed: res.status === 302 ? new URL(res.headers.get("location") ?? "") : null };
}

/** The whole browser flow up to the SPA's landing: authorize, consent at the provider as `as`, callback. */
async function browserFlow(id: Id, as: AtProvider = {}) {
  const { res, spa } = await authorize(id);
  expect(res.status).toBe(302);
  const back = await consentAt(res.headers.get("location") ?? "", as);
  const { landed } = await callback(id, back.params);
  if (!landed) throw new Error("callback did not redirect");
  return { landed, spa, params: back.params };
}

const redeem = (code: string, codeVerifier: string, ip?: string) =>
  call("POST", "/oauth/token", { body: { code, codeVerifier }, ip });

/** Signs in (or up) through the browser flow and redeems the code: the login answer. */
async function socialSignIn(id: Id, as: AtProvider = {}) {
  const { landed, spa } = await browserFlow(id, as);
  const code = landed.searchParams.get("code");
  if (!code) throw new Error(`no code: ${landed.href}`);
  return redeem(code, spa.verifier);
}

/** Starts linking from a session (step-up by password), consents as `as`: where the callback landed, and the SPA's verifier. */
async function startLink(session: Session, id: Id, as: AtProvider, proof: Record<string, string> = {}) {
  const spa = await pkcePair();
  const started = await call("POST", `/me/identities/${id}`, {
    token: session.accessToken,
    body: { redirectUri: DONE, codeChallenge: spa.challenge, currentPassword: session.user.password, ...proof },
  });
  expect(started.status).toBe(200);
  const back = await consentAt(started.body.data.authorizeUrl, as);
  const { landed } = await callback(id, back.params);
  if (!landed) throw new Error("callback did not redirect");
  return { landed, spa, authorizeUrl: started.body.data.authorizeUrl as string };
}

/** The SPA finishing a link: POST /me/identities with the code it landed with. */
const completeLink = (token: string, code: string | null, codeVerifier: string) =>
  call("POST", "/me/identities", { token, body: { code: code ?? "", codeVerifier } });

/** The whole link flow, as the SPA that started it completes it: the answer of POST /me/identities. */
async function linkFlow(session: Session, id: Id, as: AtProvider, proof: Record<string, string> = {}) {
  const { landed, spa } = await startLink(session, id, as, proof);
  return completeLink(session.accessToken, landed.searchParams.get("code"), spa.verifier);
}

const verifyEmail = (userId: string) =>
  env.DB.prepare("update users set email_verified_at = ? where id = ?").bind(new Date().toISOString(), userId).run();
const identitiesOf = (userId: unknown) =>
  rows("select provider, subject from oauth_identities where user_id = ? order by provider", userId);
const subject = () => `sub-${crypto.randomUUID()}`;

/** Waits for the identity-linked notice to `address` (its registration mail may come first or after). */
async function linkedNotice(address: string) {
  for (let i = 0; i < 200; i++) {
    const notice = (await emailsTo(address)).find((m) => m.subject.includes("was linked"));
    if (notice) return notice;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no linked notice to ${address}`);
}

describe("GET /oauth/providers", () => {
  it("lists id, name and type only: no client ids, secrets or endpoints", async () => {
    const res = await call("GET", "/oauth/providers");
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      { id: "acme", name: "Acme SSO", type: "oidc" },
      { id: "google", name: "Google", type: "google" },
      { id: "github", name: "GitHub", type: "github" },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/secret|clientId|127\.0\.0\.1/i);
  });

  it("is empty without OAUTH_PROVIDERS, and a broken value answers 503 without its content", async () => {
    expect((await settled("GET", "/oauth/providers")).body.data).toEqual([]);
    const broken = await call("GET", "/oauth/providers", { bindings: { OAUTH_PROVIDERS: '{"x": "SECRET-VALUE"' } });
    expectFailure(broken, 503, "MISCONFIGURED");
    expect(JSON.stringify(broken.body)).not.toContain("SECRET-VALUE");
  });
});

describe("browser sign-in", () => {
  it.each(["acme", "google", "github"] as const)(
    "%s: signs up, lands with a one-time code, never a token",
    async (id) => {
      const sub = id === "github" ? String(Math.floor(Math.random() * 1e9) + 1) : subject();
      const email = `${unique("social")}@idp.test`;
      const { landed, spa } = await browserFlow(id, { sub, email });
      expect(landed.origin + landed.pathname).toBe(DONE);
      expect([...landed.searchParams.keys()]).toEqual(["code"]);
      expect(landed.href).not.toMatch(/token|eyJ/i);
      const answer = await redeem(landed.searchParams.get("code") ?? "", spa.verifier);
      expect(answer.status).toBe(200);
      expect(answer.body.data).toMatchObject({ tokenType: "Bearer", user: { email, emailVerified: true } });
      const me = await call("GET", "/me", { token: answer.body.data.accessToken });
      expect(me.body.data.user.email).toBe(email);
      expect(me.body.data.hasPassword).toBe(false);

      const [user] = await rows("select id, password_hash, has_password from users where email = ?", email);
      expect(user).toMatchObject({ password_hash: NO_PASSWORD, has_password: 0 });
      expect(await identitiesOf(user?.id)).toEqual([{ provider: id, subject: sub }]);
      const [session] = await rows("select amr from sessions where user_id = ?", user?.id);
      expect(session?.amr).toBe("oauth");
      const audit = await rows("select action, details from audit_events where target_id = ?", user?.id);
      expect(audit.map((a) => a.action)).toContain("oauth_login");
      // The account has no password: a password login fails like a wrong one.
      expectFailure(
        await call("POST", "/login", { body: { email, password: STRONG_PASSWORD } }),
        401,
        "INVALID_CREDENTIALS",
      );
    },
  );

  it("signs in again to the same account by (provider, subject), and marks the identity used", async () => {
    const sub = subject();
    const first = await socialSignIn("acme", { sub });
    const [before] = await rows("select last_used_at from oauth_identities where subject = ?", sub);
    await new Promise((r) => setTimeout(r, 5));
    // The provider now reports another email: the identity still signs in to its account.
    const second = await socialSignIn("acme", { sub, email: `${unique("moved")}@idp.test` });
    expect(second.body.data.user.id).toBe(first.body.data.user.id);
    const [after] = await rows("select last_used_at from oauth_identities where subject = ?", sub);
    expect(String(after?.last_used_at) > String(before?.last_used_at)).toBe(true);
  });

  it("an account deleted between the callback and the redemption gets nothing", async () => {
    const { landed, spa } = await browserFlow("acme");
    const code = landed.searchParams.get("code") ?? "";
    const [owner] = await rows("select user_id from oauth_login_codes where code_hash = ?", await sha256Hex(code));
    await env.DB.prepare("delete from users where id = ?").bind(owner?.user_id).run();
    expectFailure(await redeem(code, spa.verifier), 401, "INVALID_LOGIN_CODE");
  });

  it("a provider email the API could not register counts as none: a new identity is refused with EMAIL_REQUIRED", async () => {
    const { landed } = await browserFlow("acme", { email: "not an email" });
    expect(landed.searchParams.get("error")).toBe("EMAIL_REQUIRED");
  });

  it("fetches the discovery document once for a whole sign-in, also when requests arrive together", async () => {
    const issuer = `${IDP}/t/routes-${crypto.randomUUID().slice(0, 8)}`;
    const tenant = JSON.stringify({
      tenant: { type: "oidc", issuer, clientId: TEST_OAUTH_CLIENT.id, clientSecret: TEST_OAUTH_CLIENT.secret },
    });
    const spa = await pkcePair();
    const path = `/oauth/tenant/authorize?${query({ redirect_uri: DONE, code_challenge: spa.challenge, code_challenge_method: "S256" })}`;
    const starts = await Promise.all(
      Array.from({ length: 3 }, () => call("GET", path, { bindings: { OAUTH_PROVIDERS: tenant } })),
    );
    const back = await consentAt(starts[0]?.headers.get("location") ?? "");
    const res = await call("GET", `/oauth/tenant/callback?${query(back.params)}`, {
      bindings: { OAUTH_PROVIDERS: tenant },
    });
    expect(new URL(res.headers.get("location") ?? "").searchParams.has("code")).toBe(true);
    expect((await providerStats(issuer)).discoveryFetches).toBe(1);
  });

  it("a provider's refusal goes back to the SPA as ?error=ACCESS_DENIED", async () => {
    const { landed } = await browserFlow("acme", { error: "access_denied" });
    expect(landed.origin + landed.pathname).toBe(DONE);
    expect(landed.searchParams.get("error")).toBe("ACCESS_DENIED");
    expect(landed.searchParams.has("code")).toBe(false);
  });
});

describe("the SPA's redirect carries only what the callback put there", () => {
  it("a code or error already in redirect_uri is dropped: one code, no planted error", async () => {
    const planted = `${DONE}?keep=1&code=planted-code&error=PLANTED`;
    const { res, spa } = await authorize("acme", planted);
    const back = await consentAt(res.headers.get("location") ?? "", {});
    const { landed } = await callback("acme", back.params);
    expect(landed?.searchParams.get("keep")).toBe("1");
    expect(landed?.searchParams.getAll("code")).toHaveLength(1);
    expect(landed?.searchParams.get("code")).not.toBe("planted-code");
    expect(landed?.searchParams.has("error")).toBe(false);
    expect((await redeem(landed?.searchParams.get("code") ?? "", spa.verifier)).status).toBe(200);

    const refused = await authorize("acme", `${DONE}?code=planted-code`);
    const denied = await consentAt(refused.res.headers.get("location") ?? "", { error: "access_denied" });
    const deniedLanding = (await callback("acme", denied.params)).landed;
    expect(deniedLanding?.searchParams.get("error")).toBe("ACCESS_DENIED");
    expect(deniedLanding?.searchParams.has("code")).toBe(false);
  });
});

describe("authorize refuses open redirects and missing PKCE with 400, never a redirect", () => {
  it.each([
    ["another origin", "https://evil.test/oauth/done"],
    ["userinfo@", "https://app.test@evil.test/done"],
    ["credentials on the right host", "https://user:pw@app.test/done"],
    ["another port", "https://app.test:8443/done"],
    ["http instead of https", "http://app.test/done"],
    ["a javascript: URL", "javascript:alert(1)//app.test"],
    ["a data: URL", "data:text/html,<script>alert(1)</script>"],
    ["a fragment", "https://app.test/done#x"],
    ["a relative path", "/oauth/done"],
    ["a protocol-relative URL", "//evil.test/done"],
    ["a look-alike host", "https://app.test.evil.test/done"],
    ["backslash trickery", "https://evil.test\\@app.test/done"],
  ])("%s", async (_, redirectUri) => {
    const { res } = await authorize("acme", redirectUri);
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(detailPaths(res)).toEqual(["redirect_uri"]);
    expect(res.headers.get("location")).toBeNull();
  });

  it("a missing, plain or malformed challenge", async () => {
    const spa = await pkcePair();
    for (const params of [
      { redirect_uri: DONE, code_challenge_method: "S256" } as Record<string, string>,
      { redirect_uri: DONE, code_challenge: spa.verifier, code_challenge_method: "plain" },
      { redirect_uri: DONE, code_challenge: "short", code_challenge_method: "S256" },
    ]) {
      const res = await call("GET", `/oauth/acme/authorize?${query(params)}`);
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(res.headers.get("location")).toBeNull();
    }
  });

  it("an unknown provider is 404", async () => {
    const spa = await pkcePair();
    const path = `/oauth/nope/authorize?${query({ redirect_uri: DONE, code_challenge: spa.challenge, code_challenge_method: "S256" })}`;
    expectFailure(await call("GET", path), 404, "NOT_FOUND");
  });

  it("sends state, S256 PKCE and nonce to the provider, and a callback URL from configuration, not the Host", async () => {
    const spa = await pkcePair();
    const path = `/oauth/acme/authorize?${query({ redirect_uri: DONE, code_challenge: spa.challenge, code_challenge_method: "S256" })}`;
    const res = await call("GET", path, { headers: { Host: "evil.test", "X-Forwarded-Host": "evil.test" } });
    const to = new URL(res.headers.get("location") ?? "");
    expect(to.searchParams.get("redirect_uri")).toBe("https://api.test/oauth/acme/callback");
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    // Our own challenge to the provider, not the SPA's.
    expect(to.searchParams.get("code_challenge")).not.toBe(spa.challenge);
    expect(to.searchParams.get("state")).toMatch(/.{20,}/);
    expect(to.searchParams.get("nonce")).toMatch(/.{20,}/);
  });
});

describe("callback: state and code", () => {
  it("missing or made-up state: JSON 400 INVALID_STATE, no redirect", async () => {
    for (const params of [{ code: "x" }, { code: "x", state: "made-up" }, {}] as Record<string, string>[]) {
      const { res } = await callback("acme", params);
      expectFailure(res, 400, "INVALID_STATE");
      expect(res.headers.get("location")).toBeNull();
    }
  });

  it("a replayed state (the same callback twice) gets nothing the second time", async () => {
    const { res } = await authorize("acme");
    const back = await consentAt(res.headers.get("location") ?? "");
    expect((await callback("acme", back.params)).res.status).toBe(302);
    expectFailure((await callback("acme", back.params)).res, 400, "INVALID_STATE");
  });

  it("parallel callbacks with one state: exactly one redirect", async () => {
    const { res } = await authorize("acme");
    const back = await consentAt(res.headers.get("location") ?? "");
    const results = await Promise.all(Array.from({ length: 4 }, () => callback("acme", back.params)));
    expect(results.filter((r) => r.res.status === 302)).toHaveLength(1);
    expect(results.filter((r) => r.res.status === 400)).toHaveLength(3);
  });

  it("a state issued for another provider is refused there", async () => {
    const { res } = await authorize("acme");
    const back = await consentAt(res.headers.get("location") ?? "");
    expectFailure((await callback("google", back.params)).res, 400, "INVALID_STATE");
    // Not spent by the wrong callback: the right one still works.
    expect((await callback("acme", back.params)).landed?.searchParams.has("code")).toBe(true);
  });

  it("a provider code replayed with a fresh state is refused by the provider: ?error=PROVIDER_ERROR", async () => {
    const first = await browserFlow("acme");
    const { res } = await authorize("acme");
    const fresh = await consentAt(res.headers.get("location") ?? "");
    const { landed } = await callback("acme", { state: fresh.params.state ?? "", code: first.params.code ?? "" });
    expect(landed?.searchParams.get("error")).toBe("PROVIDER_ERROR");
  });

  it("an ID token whose nonce is not the one stored with the state: ?error=PROVIDER_ERROR, nobody signed up", async () => {
    const email = `${unique("nonce")}@idp.test`;
    const { landed } = await browserFlow("acme", { nonce: "attacker-chosen", email });
    expect(landed.searchParams.get("error")).toBe("PROVIDER_ERROR");
    expect(await rows("select id from users where email = ?", email)).toEqual([]);
  });
});

describe("POST /oauth/token", () => {
  it("a wrong verifier spends the code and counts toward the account's lockout", async () => {
    const email = `${unique("pkce")}@idp.test`;
    const { landed, spa } = await browserFlow("acme", { email });
    const code = landed.searchParams.get("code") ?? "";
    const ip = randomIp();
    const attacker = await pkcePair();
    expectFailure(await redeem(code, attacker.verifier, ip), 401, "INVALID_LOGIN_CODE");
    expectFailure(await redeem(code, spa.verifier), 401, "INVALID_LOGIN_CODE");
    const counted = await rows("select scope, failures from login_failures where email = ?", email);
    expect(counted).toContainEqual({ scope: "account", failures: 1 });
  });

  it("the code itself as verifier, unknown codes and malformed bodies", async () => {
    const { landed, spa } = await browserFlow("acme");
    const code = landed.searchParams.get("code") ?? "";
    expectFailure(await redeem(code, spa.challenge), 401, "INVALID_LOGIN_CODE");
    expectFailure(await redeem("made-up", spa.verifier), 401, "INVALID_LOGIN_CODE");
    expectFailure(await call("POST", "/oauth/token", { body: { code } }), 400, "VALIDATION_ERROR");
    expectFailure(
      await call("POST", "/oauth/token", { rawBody: "{", headers: { "Content-Type": "application/json" } }),
      400,
      "INVALID_JSON",
    );
  });

  it("parallel redemptions of one login code: exactly one session", async () => {
    const { landed, spa } = await browserFlow("acme");
    const code = landed.searchParams.get("code") ?? "";
    const results = await Promise.all(Array.from({ length: 5 }, () => redeem(code, spa.verifier)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const userId = results.find((r) => r.status === 200)?.body.data.user.id;
    expect(await rows("select id from sessions where user_id = ?", userId)).toHaveLength(1);
  });

  it("a suspended account is refused like at /login", async () => {
    const sub = subject();
    const first = await socialSignIn("acme", { sub });
    await suspendUser(first.body.data.user.id);
    expectFailure(await socialSignIn("acme", { sub }), 403, "ACCOUNT_SUSPENDED");
  });

  it("a network locked out of the account is refused like at /login", async () => {
    const session = await registerVerifiedAndLogin();
    await verifyEmail(session.user.id);
    const sub = subject();
    expect((await linkFlow(session, "acme", { sub })).status).toBe(201);
    const ip = randomIp();
    for (let i = 0; i < 10; i++) {
      await call("POST", "/login", { body: { email: session.user.email, password: "wrong-password-123" }, ip });
    }
    const { landed, spa } = await browserFlow("acme", { sub });
    const locked = await redeem(landed.searchParams.get("code") ?? "", spa.verifier, ip);
    expectFailure(locked, 429, "ACCOUNT_LOCKED");
  });

  it("an account with MFA gets mfaRequired, and /login/mfa completes it", async () => {
    const { session, secret } = await enrolled();
    await verifyEmail(session.user.id);
    const sub = subject();
    const linked = await linkFlow(session, "acme", { sub }, { code: codeNow(secret) });
    expect(linked.status).toBe(201);
    const answer = await socialSignIn("acme", { sub });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toMatchObject({ mfaRequired: true, methods: ["totp", "recovery_code"] });
    expect(answer.body.data.accessToken).toBeUndefined();
    const second = await call("POST", "/login/mfa", {
      body: { mfaToken: answer.body.data.mfaToken, code: codeNow(secret, 1) },
    });
    expect(second.status).toBe(200);
    expect(second.body.data.user.id).toBe(session.user.id);
  });

  it("is rate limited per client network before the body is read", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(30, () => call("POST", "/oauth/token", { rawBody: "{", ip }));
  });
});

describe("linking on sign-in", () => {
  it("the unverified-email takeover: a pre-registered unverified account is not linked (ACCOUNT_EXISTS)", async () => {
    const squatter = await registerUser();
    const { landed } = await browserFlow("acme", { email: squatter.email, email_verified: true });
    expect(landed.searchParams.get("error")).toBe("ACCOUNT_EXISTS");
    expect(landed.searchParams.has("code")).toBe(false);
    expect(await identitiesOf(squatter.id)).toEqual([]);
  });

  it("an unverified provider email is not linked to a verified account either", async () => {
    const owner = await registerUser();
    await verifyEmail(owner.id);
    const { landed } = await browserFlow("acme", { email: owner.email, email_verified: false });
    expect(landed.searchParams.get("error")).toBe("ACCOUNT_EXISTS");
    expect(await identitiesOf(owner.id)).toEqual([]);
  });

  it("both verified: linked automatically, audited, and the owner is told by mail", async () => {
    const owner = await registerUser();
    await verifyEmail(owner.id);
    const sub = subject();
    const answer = await socialSignIn("acme", { sub, email: owner.email.toUpperCase() });
    expect(answer.body.data.user.id).toBe(owner.id);
    expect(await identitiesOf(owner.id)).toEqual([{ provider: "acme", subject: sub }]);
    const mail = await linkedNotice(owner.email);
    expect(mail.subject).toMatch(/Acme SSO/);
    const actions = (await rows("select action from audit_events where target_id = ?", owner.id)).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(["identity_link", "oauth_login"]));
  });
});

describe("POST /oauth/:provider/id-token (native apps)", () => {
  const signIn = (id: string, body: Record<string, unknown>) => call("POST", `/oauth/${id}/id-token`, { body });

  it("signs in with a valid token, for the clientId or an extra audience", async () => {
    const email = `${unique("native")}@idp.test`;
    const ok = await signIn("acme", { idToken: await mintIdToken(claims({ email, aud: "acme-ios-app" })) });
    expect(ok.status).toBe(200);
    expect(ok.body.data.user.email).toBe(email);
  });

  it.each([
    ["wrong aud", claims({ aud: "someone-else" }), {}],
    ["wrong iss", claims({ iss: "https://evil.test" }), {}],
    ["expired", claims({ exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 4000 }), {}],
    ["alg none", claims(), { alg: "none" as const }],
    ["HS256 with the public key", claims(), { alg: "HS256-public" as const }],
    ["an unknown key", claims(), { key: "unknown" as const }],
  ])("refuses %s with 401 INVALID_ID_TOKEN", async (_, tokenClaims, options) => {
    expectFailure(await signIn("acme", { idToken: await mintIdToken(tokenClaims, options) }), 401, "INVALID_ID_TOKEN");
  });

  it("checks the nonce when one is sent", async () => {
    const idToken = await mintIdToken(claims({ nonce: "n-1" }));
    expectFailure(await signIn("acme", { idToken, nonce: "n-2" }), 401, "INVALID_ID_TOKEN");
    expect((await signIn("acme", { idToken, nonce: "n-1" })).status).toBe(200);
  });

  it("ACCOUNT_EXISTS for an unverified account's email; GitHub and unknown providers are 404", async () => {
    const squatter = await registerUser();
    const idToken = await mintIdToken(claims({ email: squatter.email }));
    expectFailure(await signIn("acme", { idToken }), 409, "ACCOUNT_EXISTS");
    expect(await identitiesOf(squatter.id)).toEqual([]);
    expectFailure(await signIn("github", { idToken }), 404, "NOT_FOUND");
    expectFailure(await signIn("nope", { idToken }), 404, "NOT_FOUND");
  });
});

describe("/me/identities", () => {
  it("linking needs step-up", async () => {
    const session = await registerVerifiedAndLogin();
    expect((await call("GET", "/me", { token: session.accessToken })).body.data.hasPassword).toBe(true);
    const spa = await pkcePair();
    const start = (body: Record<string, unknown>) =>
      call("POST", "/me/identities/acme", { token: session.accessToken, body });
    expectFailure(await start({ redirectUri: DONE, codeChallenge: spa.challenge }), 403, "REAUTHENTICATION_REQUIRED");
    expectFailure(
      await start({ redirectUri: DONE, codeChallenge: spa.challenge, currentPassword: "wrong-password-123" }),
      401,
      "INVALID_CREDENTIALS",
    );
    const bad = await start({
      redirectUri: "https://evil.test/",
      codeChallenge: spa.challenge,
      currentPassword: session.user.password,
    });
    expectFailure(bad, 400, "VALIDATION_ERROR");
    expect(await rows("select 1 from oauth_states where link_user_id = ?", session.user.id)).toEqual([]);
    expectFailure(await call("POST", "/me/identities/acme", { body: {} }), 401, "UNAUTHORIZED");
  });

  it("links whatever the email, lists it, mails the owner, and unlinks with step-up", async () => {
    const session = await registerVerifiedAndLogin();
    const sub = subject();
    const { landed, spa } = await startLink(session, "acme", {
      sub,
      email: `${unique("other")}@idp.test`,
      email_verified: false,
    });
    expect(landed.origin + landed.pathname).toBe(DONE);
    expect([...landed.searchParams.keys()]).toEqual(["code"]);
    // Nothing is linked before the SPA redeems the code.
    expect(await identitiesOf(session.user.id)).toEqual([]);
    const linked = await completeLink(session.accessToken, landed.searchParams.get("code"), spa.verifier);
    expect(linked.status).toBe(201);
    const list = await call("GET", "/me/identities", { token: session.accessToken });
    expect(list.body.data).toHaveLength(1);
    expect(linked.body.data.identity).toEqual(list.body.data[0]);
    expect(list.body.data[0]).toMatchObject({ provider: "acme", lastUsedAt: expect.any(String) });
    expect(Object.keys(list.body.data[0]).sort()).toEqual(["createdAt", "email", "id", "lastUsedAt", "provider"]);
    expect((await linkedNotice(session.user.email)).subject).toMatch(/Acme SSO/);

    const id = list.body.data[0].id;
    const del = (body: Record<string, unknown>, token = session.accessToken) =>
      call("DELETE", `/me/identities/${id}`, { token, body });
    expectFailure(await del({}), 403, "REAUTHENTICATION_REQUIRED");
    const other = await registerVerifiedAndLogin();
    expectFailure(await del({ currentPassword: other.user.password }, other.accessToken), 404, "NOT_FOUND");
    expect((await del({ currentPassword: session.user.password })).status).toBe(200);
    expect(await identitiesOf(session.user.id)).toEqual([]);
    const actions = (await rows("select action from audit_events where target_id = ?", session.user.id)).map(
      (r) => r.action,
    );
    expect(actions).toEqual(expect.arrayContaining(["identity_link", "identity_unlink"]));
    const [audit] = await rows(
      "select details from audit_events where target_id = ? and action = 'identity_link'",
      session.user.id,
    );
    expect(JSON.parse(String(audit?.details))).toEqual({ provider: "acme", via: "session" });
  });

  it("a link started before a suspension completes nothing", async () => {
    const session = await registerVerifiedAndLogin();
    const { landed, spa } = await startLink(session, "acme", { sub: subject() });
    await suspendUser(session.user.id);
    const done = await completeLink(session.accessToken, landed.searchParams.get("code"), spa.verifier);
    expectFailure(done, 403, "ACCOUNT_SUSPENDED");
    expect(await identitiesOf(session.user.id)).toEqual([]);
  });

  it("an identity linked to someone else is never moved: 409 IDENTITY_IN_USE", async () => {
    const sub = subject();
    const victim = await socialSignIn("acme", { sub });
    const thief = await registerVerifiedAndLogin();
    expectFailure(await linkFlow(thief, "acme", { sub }), 409, "IDENTITY_IN_USE");
    expect(await identitiesOf(victim.body.data.user.id)).toEqual([{ provider: "acme", subject: sub }]);
    expect(await identitiesOf(thief.user.id)).toEqual([]);
  });

  it("unlinking the last way to sign in is 409 LAST_SIGN_IN_METHOD; of two racing unlinks exactly one wins", async () => {
    const session = await registerVerifiedAndLogin();
    await linkFlow(session, "acme", { sub: subject() });
    await linkFlow(session, "google", { sub: subject() });
    const reauth = await call("POST", "/me/reauthenticate", {
      token: session.accessToken,
      body: { password: session.user.password },
    });
    expect(reauth.status).toBe(200);
    // The password goes away (as when a mailbox owner takes back an account): the identities are all that is left.
    await env.DB.prepare("update users set has_password = 0 where id = ?").bind(session.user.id).run();
    const list = await call("GET", "/me/identities", { token: session.accessToken });
    const results = await Promise.all(
      list.body.data.map((i: { id: string }) =>
        call("DELETE", `/me/identities/${i.id}`, { token: session.accessToken, body: {} }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expectFailure(results.find((r) => r.status === 409) ?? results[0], 409, "LAST_SIGN_IN_METHOD");
    expect(await identitiesOf(session.user.id)).toHaveLength(1);
  });
});

describe("link codes: a link completes only for the session and browser that started it", () => {
  const linksOf = (sub: string) => rows("select user_id from oauth_identities where subject = ?", sub);
  const expireCode = async (code: string | null) =>
    env.DB.prepare("update oauth_login_codes set expires_at = ? where code_hash = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), await sha256Hex(code ?? ""))
      .run();

  it("the linking CSRF: the attacker's authorizeUrl completed by the victim's browser links nothing to anyone", async () => {
    const attacker = await registerVerifiedAndLogin();
    const victim = await registerVerifiedAndLogin();
    const victimSub = subject();
    // The attacker starts a link on their own account and sends the authorizeUrl to the victim...
    const spa = await pkcePair();
    const started = await call("POST", "/me/identities/acme", {
      token: attacker.accessToken,
      body: { redirectUri: DONE, codeChallenge: spa.challenge, currentPassword: attacker.user.password },
    });
    // ...whose browser, signed in at the provider as the victim, completes it.
    const back = await consentAt(started.body.data.authorizeUrl, { sub: victimSub });
    const { landed } = await callback("acme", back.params);
    expect([...(landed?.searchParams.keys() ?? [])]).toEqual(["code"]);
    expect(await linksOf(victimSub)).toEqual([]);
    expect(await identitiesOf(attacker.user.id)).toEqual([]);

    // The code that landed in the victim's browser is the attacker's account's: the victim's session
    // cannot redeem it, even with the attacker's verifier (not taken, so not spent), nor with its own.
    const code = landed?.searchParams.get("code") ?? null;
    expectFailure(await completeLink(victim.accessToken, code, spa.verifier), 401, "INVALID_LOGIN_CODE");
    const own = await pkcePair();
    expectFailure(await completeLink(victim.accessToken, code, own.verifier), 401, "INVALID_LOGIN_CODE");
    // Nor does it sign anyone in.
    expectFailure(await redeem(code ?? "", spa.verifier), 401, "INVALID_LOGIN_CODE");
    expect(await linksOf(victimSub)).toEqual([]);

    // The victim's identity is still theirs to link, and then signs in to the victim's account.
    expect((await linkFlow(victim, "acme", { sub: victimSub })).status).toBe(201);
    expect(await linksOf(victimSub)).toEqual([{ user_id: victim.user.id }]);
    expect((await socialSignIn("acme", { sub: victimSub })).body.data.user.id).toBe(victim.user.id);
  });

  it("of parallel redemptions of one link code exactly one links; a replay gets 401", async () => {
    const session = await registerVerifiedAndLogin();
    const sub = subject();
    const { landed, spa } = await startLink(session, "acme", { sub });
    const code = landed.searchParams.get("code");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => completeLink(session.accessToken, code, spa.verifier)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401]);
    for (const r of results.filter((r) => r.status === 401)) expectFailure(r, 401, "INVALID_LOGIN_CODE");
    expectFailure(await completeLink(session.accessToken, code, spa.verifier), 401, "INVALID_LOGIN_CODE");
    expect(await linksOf(sub)).toEqual([{ user_id: session.user.id }]);
    const audits = await rows(
      "select 1 from audit_events where target_id = ? and action = 'identity_link'",
      session.user.id,
    );
    expect(audits).toHaveLength(1);
  });

  it("a wrong verifier is 401 and spends the code", async () => {
    const session = await registerVerifiedAndLogin();
    const sub = subject();
    const { landed, spa } = await startLink(session, "acme", { sub });
    const code = landed.searchParams.get("code");
    expectFailure(
      await completeLink(session.accessToken, code, (await pkcePair()).verifier),
      401,
      "INVALID_LOGIN_CODE",
    );
    expectFailure(await completeLink(session.accessToken, code, spa.verifier), 401, "INVALID_LOGIN_CODE");
    expect(await linksOf(sub)).toEqual([]);
  });

  it("another user's bearer, or an ended session, cannot redeem it, and does not spend it", async () => {
    const session = await registerVerifiedAndLogin();
    const other = await registerVerifiedAndLogin();
    const sub = subject();
    const { landed, spa } = await startLink(session, "acme", { sub });
    const code = landed.searchParams.get("code");
    expectFailure(await completeLink(other.accessToken, code, spa.verifier), 401, "INVALID_LOGIN_CODE");
    expect(await identitiesOf(other.user.id)).toEqual([]);
    const ended = await login(session.user);
    await call("POST", "/logout", { token: ended.accessToken, body: {} });
    expectFailure(await completeLink(ended.accessToken, code, spa.verifier), 401, "UNAUTHORIZED");
    expect((await completeLink(session.accessToken, code, spa.verifier)).status).toBe(201);
    expect(await linksOf(sub)).toEqual([{ user_id: session.user.id }]);
  });

  it("an expired link code is 401", async () => {
    const session = await registerVerifiedAndLogin();
    const sub = subject();
    const { landed, spa } = await startLink(session, "acme", { sub });
    await expireCode(landed.searchParams.get("code"));
    expectFailure(
      await completeLink(session.accessToken, landed.searchParams.get("code"), spa.verifier),
      401,
      "INVALID_LOGIN_CODE",
    );
    expect(await linksOf(sub)).toEqual([]);
  });

  it("a link code never signs in at /oauth/token, and a sign-in code never links", async () => {
    const session = await registerVerifiedAndLogin();
    const linked = subject();
    expect((await linkFlow(session, "acme", { sub: linked })).status).toBe(201);
    const link = await startLink(session, "google", { sub: subject() });
    const linkCode = link.landed.searchParams.get("code") ?? "";
    expectFailure(await redeem(linkCode, link.spa.verifier), 401, "INVALID_LOGIN_CODE");
    expect(await rows("select 1 from sessions where user_id = ?", session.user.id)).toHaveLength(1);

    // A sign-in code of the caller's own account (its linked identity signing in) does not link either.
    const signIn = await browserFlow("acme", { sub: linked });
    const signInCode = signIn.landed.searchParams.get("code");
    const [owner] = await rows(
      "select user_id from oauth_login_codes where code_hash = ?",
      await sha256Hex(signInCode ?? ""),
    );
    expect(owner?.user_id).toBe(session.user.id);
    expectFailure(await completeLink(session.accessToken, signInCode, signIn.spa.verifier), 401, "INVALID_LOGIN_CODE");
    // Each is still good where it belongs: neither refusal spent it.
    expect((await redeem(signInCode ?? "", signIn.spa.verifier)).status).toBe(200);
    expect((await completeLink(session.accessToken, linkCode, link.spa.verifier)).status).toBe(201);
  });

  it("refuses malformed input and a missing bearer", async () => {
    const session = await registerVerifiedAndLogin();
    expectFailure(
      await call("POST", "/me/identities", { token: session.accessToken, body: { code: "x" } }),
      400,
      "VALIDATION_ERROR",
    );
    expectFailure(
      await call("POST", "/me/identities", {
        token: session.accessToken,
        body: { code: "x", codeVerifier: "y", extra: 1 },
      }),
      400,
      "VALIDATION_ERROR",
    );
    expectFailure(
      await call("POST", "/me/identities", { body: { code: "x", codeVerifier: "y" } }),
      401,
      "UNAUTHORIZED",
    );
  });
});

describe("rate limits on the browser flow", () => {
  it("GET /oauth/:provider/authorize and /callback are limited per client network", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(30, () => call("GET", "/oauth/acme/authorize", { ip }));
    const other = randomIp();
    await expectRateLimitedAfter(30, () => call("GET", "/oauth/acme/callback", { ip: other }));
  });
});
