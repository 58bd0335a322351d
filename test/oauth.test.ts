import { describe, expect, it } from "vitest";
import { startAuthorization } from "../src/auth/oauth/authorize";
import { finishAuthorization } from "../src/auth/oauth/callback";
import { parseProviders, publicProviders } from "../src/auth/oauth/config";
import { STATE_TTL_SECONDS } from "../src/auth/oauth/state";
import { sha256Hex } from "../src/auth/tokens";
import { AppError } from "../src/http/errors";
import { rows } from "./support/db";
import {
  type AtProvider,
  consentAt,
  IDP,
  oauthDeps,
  origins,
  pkcePair,
  provider,
  providers,
  SPA,
} from "./support/oauth";
import { TEST_OAUTH_CLIENT } from "./support/oidc-client";

const deps = oauthDeps();

/** Starts a browser sign-in at a provider and consents there as `as`; returns the provider's answer to our callback. */
async function authorizeAt(id: "acme" | "google" | "github", as: AtProvider = {}, redirectUri = `${SPA}/oauth/done`) {
  const spa = await pkcePair();
  const started = await startAuthorization(deps, provider(id), origins, {
    redirectUri,
    codeChallenge: spa.challenge,
  });
  if (!started.ok) throw new Error(`authorize refused: ${started.reason}`);
  const back = await consentAt(started.authorizeUrl, as);
  return { ...back, spa, authorizeUrl: new URL(started.authorizeUrl) };
}

describe("OAUTH_PROVIDERS", () => {
  it("parses oidc, google and github entries with presets, overrides and extra audiences", () => {
    const parsed = parseProviders(
      JSON.stringify({
        google: { type: "google", clientId: "g", clientSecret: "gs" },
        github: { type: "github", clientId: "h", clientSecret: "hs" },
        acme: {
          type: "oidc",
          name: "Acme SSO",
          issuer: "https://idp.acme.test/",
          clientId: "a",
          clientSecret: "as",
          clientIds: ["ios"],
        },
      }),
    );
    expect(parsed.get("google")).toMatchObject({
      issuer: "https://accounts.google.com",
      name: "Google",
      audiences: ["g"],
    });
    expect(parsed.get("github")).toMatchObject({
      authorizationUrl: "https://github.com/login/oauth/authorize",
      tokenUrl: "https://github.com/login/oauth/access_token",
      apiUrl: "https://api.github.com",
    });
    expect(parsed.get("acme")).toMatchObject({ issuer: "https://idp.acme.test", audiences: ["a", "ios"] });
    expect(publicProviders(parsed)).toEqual([
      { id: "google", name: "Google", type: "google" },
      { id: "github", name: "GitHub", type: "github" },
      { id: "acme", name: "Acme SSO", type: "oidc" },
    ]);
  });

  it("means no providers when unset or empty", () => {
    expect(parseProviders(undefined).size).toBe(0);
    expect(parseProviders("").size).toBe(0);
  });

  it.each([
    ["bad JSON", '{"github": {"type": "github", "clientId": "x", "clientSecret": "SECRET-VALUE"', "is not valid JSON"],
    ["an unknown type", '{"x": {"type": "saml", "clientId": "a", "clientSecret": "SECRET-VALUE"}}', "is invalid (x"],
    ["a missing secret", '{"x": {"type": "github", "clientId": "a"}}', "is invalid (x.clientSecret)"],
    [
      "a plain-http issuer off loopback",
      '{"x": {"type": "oidc", "issuer": "http://idp.example", "clientId": "a", "clientSecret": "SECRET-VALUE"}}',
      "is invalid (x.issuer)",
    ],
    [
      "an unknown field",
      '{"x": {"type": "github", "clientId": "a", "clientSecret": "SECRET-VALUE", "extra": 1}}',
      "is invalid (x",
    ],
  ])("answers 503 MISCONFIGURED naming OAUTH_PROVIDERS, never a value, on %s", (_, raw, why) => {
    let error: unknown;
    try {
      parseProviders(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 503, code: "MISCONFIGURED" });
    expect((error as Error).message).toContain(`OAUTH_PROVIDERS ${why}`);
    expect((error as Error).message).not.toContain("SECRET-VALUE");
  });
});

describe("authorization URL", () => {
  it("sends the browser to the provider from discovery with state, PKCE S256, nonce and our callback", async () => {
    const spa = await pkcePair();
    const started = await startAuthorization(deps, provider("acme"), origins, {
      redirectUri: `${SPA}/done`,
      codeChallenge: spa.challenge,
    });
    if (!started.ok) throw new Error(started.reason);
    const url = new URL(started.authorizeUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${IDP}/authorize`);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({
      response_type: "code",
      client_id: TEST_OAUTH_CLIENT.id,
      redirect_uri: "https://api.test/oauth/acme/callback",
      code_challenge_method: "S256",
      scope: "openid email profile",
    });
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Our verifier is not the SPA's: each hop has its own PKCE pair.
    expect(q.code_challenge).not.toBe(spa.challenge);
    // Only the state's hash is stored.
    const stored = await rows("select * from oauth_states where state_hash = ?", await sha256Hex(q.state ?? ""));
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(q.state);
    expect(stored[0]).toMatchObject({ provider: "acme", redirect_uri: `${SPA}/done`, code_challenge: spa.challenge });
  });

  it("sends no nonce to GitHub and asks only for the profile and emails", async () => {
    const { authorizeUrl } = await authorizeAt("github", { sub: "4242" });
    expect(authorizeUrl.searchParams.get("nonce")).toBeNull();
    expect(authorizeUrl.searchParams.get("scope")).toBe("read:user user:email");
  });

  it.each([
    "https://evil.test/done",
    "https://app.test.evil.test/done",
    "https://user:pass@app.test/done",
    "https://app.test/done#fragment",
    "http://app.test/done",
    "javascript:alert(1)//https://app.test",
    "//evil.test/done",
    "/done",
    "https://app.test:8443/done",
  ])("refuses the redirect_uri %s before storing anything (no open redirect)", async (redirectUri) => {
    const before = await rows("select count(*) as n from oauth_states");
    const spa = await pkcePair();
    const result = await startAuthorization(deps, provider("acme"), origins, {
      redirectUri,
      codeChallenge: spa.challenge,
    });
    expect(result).toEqual({ ok: false, reason: "redirect_uri" });
    expect(await rows("select count(*) as n from oauth_states")).toEqual(before);
  });

  it("accepts the CORS_ORIGINS origins too", async () => {
    const spa = await pkcePair();
    const result = await startAuthorization(deps, provider("acme"), origins, {
      redirectUri: "https://spa.test/cb?x=1",
      codeChallenge: spa.challenge,
    });
    expect(result.ok).toBe(true);
  });

  it.each(["", "short", "a".repeat(44), `${"a".repeat(42)}=`])(
    "refuses the code challenge %j",
    async (codeChallenge) => {
      const result = await startAuthorization(deps, provider("acme"), origins, {
        redirectUri: `${SPA}/d`,
        codeChallenge,
      });
      expect(result).toEqual({ ok: false, reason: "code_challenge" });
    },
  );
});

describe("callback", () => {
  it("exchanges the code and reads the identity from the verified ID token (RS256 and ES256)", async () => {
    for (const alg of ["RS256", "ES256"] as const) {
      const sub = `alice-${alg}-${crypto.randomUUID()}`;
      const { params, callback, spa } = await authorizeAt("acme", { sub, email: "Alice@Example.com", alg });
      expect(callback).toBe("https://api.test/oauth/acme/callback");
      const result = await finishAuthorization(deps, provider("acme"), params);
      expect(result).toEqual({
        ok: true,
        identity: { provider: "acme", subject: sub, email: "alice@example.com", emailVerified: true },
        redirectUri: `${SPA}/oauth/done`,
        codeChallenge: spa.challenge,
        linkUserId: null,
      });
    }
  });

  it("works for the google preset pointed at another issuer", async () => {
    const { params } = await authorizeAt("google", { sub: "g-1", email_verified: false });
    const result = await finishAuthorization(deps, provider("google"), params);
    expect(result).toMatchObject({ ok: true, identity: { provider: "google", subject: "g-1", emailVerified: false } });
  });

  it("refuses a replayed state, and of parallel callbacks with one state exactly one succeeds", async () => {
    const { params } = await authorizeAt("acme");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => finishAuthorization(deps, provider("acme"), params)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => r.reason)).toEqual(Array(4).fill("invalid_state"));
    expect(await finishAuthorization(deps, provider("acme"), params)).toEqual({ ok: false, reason: "invalid_state" });
  });

  it("refuses a missing, unknown or expired state", async () => {
    const { params } = await authorizeAt("acme");
    const acme = provider("acme");
    expect(await finishAuthorization(deps, acme, { code: params.code })).toEqual({
      ok: false,
      reason: "invalid_state",
    });
    expect(await finishAuthorization(deps, acme, { ...params, state: "forged-state" })).toEqual({
      ok: false,
      reason: "invalid_state",
    });
    const later = oauthDeps({ now: () => Date.now() + (STATE_TTL_SECONDS + 1) * 1000 });
    expect(await finishAuthorization(later, acme, params)).toEqual({ ok: false, reason: "invalid_state" });
  });

  it("refuses a state issued for another provider, without spending it", async () => {
    const { params } = await authorizeAt("acme");
    expect(await finishAuthorization(deps, provider("github"), params)).toEqual({ ok: false, reason: "invalid_state" });
    expect(await finishAuthorization(deps, provider("acme"), params)).toMatchObject({ ok: true });
  });

  it("refuses a replayed code, and a code presented with another flow's PKCE verifier", async () => {
    const a = await authorizeAt("acme");
    const b = await authorizeAt("acme");
    const c = await authorizeAt("acme");
    expect(await finishAuthorization(deps, provider("acme"), a.params)).toMatchObject({ ok: true });
    // Flow b's state (and so its verifier) with a's spent code: the provider refuses the replay.
    expect(await finishAuthorization(deps, provider("acme"), { ...b.params, code: a.params.code })).toMatchObject({
      ok: false,
      reason: "exchange_failed",
      redirectUri: `${SPA}/oauth/done`,
    });
    // Flow c's state with the unspent code of a fresh flow d: the provider refuses the wrong verifier.
    const d = await authorizeAt("acme");
    expect(await finishAuthorization(deps, provider("acme"), { ...c.params, code: d.params.code })).toMatchObject({
      ok: false,
      reason: "exchange_failed",
    });
  });

  it("the provider's token endpoint itself refuses a wrong verifier and burns the code", async () => {
    const { params } = await authorizeAt("acme");
    const exchange = (verifier: string) =>
      fetch(`${IDP}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${btoa(`${TEST_OAUTH_CLIENT.id}:${TEST_OAUTH_CLIENT.secret}`)}`,
        },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code: params.code ?? "",
          redirect_uri: "https://api.test/oauth/acme/callback",
          code_verifier: verifier,
        }),
      });
    expect((await exchange("x".repeat(43))).status).toBe(400);
    // The right flow can no longer use it either.
    expect(await finishAuthorization(deps, provider("acme"), params)).toMatchObject({
      ok: false,
      reason: "exchange_failed",
    });
  });

  it("reports access_denied with the SPA's redirect when the user declines at the provider", async () => {
    const { params } = await authorizeAt("acme", { error: "access_denied" });
    expect(params.code).toBeUndefined();
    expect(await finishAuthorization(deps, provider("acme"), params)).toMatchObject({
      ok: false,
      reason: "access_denied",
      redirectUri: `${SPA}/oauth/done`,
    });
  });

  it("refuses an ID token whose nonce is not the one stored with the state", async () => {
    const { params } = await authorizeAt("acme", { nonce: "attacker-chosen-nonce" });
    expect(await finishAuthorization(deps, provider("acme"), params)).toMatchObject({
      ok: false,
      reason: "invalid_id_token",
    });
  });

  it("takes the email from userinfo when the ID token has none, and only for the same subject", async () => {
    const sub = `u-${crypto.randomUUID()}`;
    const { params } = await authorizeAt("acme", { sub, email: "Info@Example.com", userinfo_only: true });
    expect(await finishAuthorization(deps, provider("acme"), params)).toMatchObject({
      ok: true,
      identity: { subject: sub, email: "info@example.com", emailVerified: true },
    });
    const other = await authorizeAt("acme", {
      sub,
      email: "x@example.com",
      userinfo_only: true,
      userinfo_sub: "someone-else",
    });
    expect(await finishAuthorization(deps, provider("acme"), other.params)).toMatchObject({
      ok: true,
      identity: { subject: sub, email: null, emailVerified: false },
    });
  });

  it("reads a GitHub identity: numeric id as subject, the primary email and its verified flag", async () => {
    const verified = await authorizeAt("github", { sub: "1001", email: "Octo@Example.com" });
    expect(await finishAuthorization(deps, provider("github"), verified.params)).toMatchObject({
      ok: true,
      identity: { provider: "github", subject: "1001", email: "octo@example.com", emailVerified: true },
    });
    // An unverified primary stays unverified, even though a verified secondary exists.
    const unverified = await authorizeAt("github", { sub: "1002", email: "new@example.com", email_verified: false });
    expect(await finishAuthorization(deps, provider("github"), unverified.params)).toMatchObject({
      ok: true,
      identity: { subject: "1002", email: "new@example.com", emailVerified: false },
    });
  });

  it("answers exchange_failed (not a 500) when the provider's token endpoint answers nonsense", async () => {
    const down = parseProviders(
      JSON.stringify({
        down: {
          type: "github",
          clientId: TEST_OAUTH_CLIENT.id,
          clientSecret: TEST_OAUTH_CLIENT.secret,
          authorizationUrl: `${IDP}/authorize`,
          tokenUrl: `${IDP}/no-such-endpoint`,
          apiUrl: `${IDP}/github`,
        },
      }),
    ).get("down");
    if (!down) throw new Error("no provider");
    const spa = await pkcePair();
    const started = await startAuthorization(deps, down, origins, {
      redirectUri: `${SPA}/d`,
      codeChallenge: spa.challenge,
    });
    if (!started.ok) throw new Error(started.reason);
    const { params } = await consentAt(started.authorizeUrl);
    expect(await finishAuthorization(deps, down, params)).toMatchObject({ ok: false, reason: "exchange_failed" });
    providers(); // restore the shared parse cache for the other tests
  });
});
