import { describe, expect, it } from "vitest";
import { type OidcProvider, parseProviders } from "../src/auth/oauth/config";
import { verifyIdToken } from "../src/auth/oauth/id-token";
import { IDP, mintIdToken, providerStats, claims as standardClaims } from "./support/oauth";
import { TEST_OAUTH_CLIENT } from "./support/oidc-client";

// An issuer of its own at the local provider, so the JWKS fetch counts are this file's alone.
const ISSUER = `${IDP}/t/id-token`;
const acme = () =>
  parseProviders(
    JSON.stringify({
      acme: {
        type: "oidc",
        issuer: ISSUER,
        clientId: TEST_OAUTH_CLIENT.id,
        clientSecret: TEST_OAUTH_CLIENT.secret,
        clientIds: ["acme-ios-app"],
      },
    }),
  ).get("acme") as OidcProvider;
const claims = (overrides: Record<string, unknown> = {}) => standardClaims({ iss: ISSUER, ...overrides });
const verify = (token: string, options: { nonce?: string | null; jwksCooldownMs?: number } = {}) =>
  verifyIdToken(acme(), token, { jwksCooldownMs: 0, ...options });
const now = () => Math.floor(Date.now() / 1000);

describe("ID token verification (native apps and the OIDC callback)", () => {
  it("accepts a token signed by the provider's RS256 or ES256 key, for the clientId or any of clientIds", async () => {
    for (const alg of ["RS256", "ES256"] as const) {
      const token = await mintIdToken(claims({ sub: `s-${alg}`, email: "Bob@Example.com" }), { alg });
      expect(await verify(token)).toEqual({
        ok: true,
        identity: { provider: "acme", subject: `s-${alg}`, email: "bob@example.com", emailVerified: true },
      });
    }
    expect(await verify(await mintIdToken(claims({ aud: "acme-ios-app" })))).toMatchObject({ ok: true });
    expect(await verify(await mintIdToken(claims({ aud: ["acme-ios-app", "other"] })))).toMatchObject({ ok: true });
  });

  it('treats only email_verified true (or "true") as verified', async () => {
    for (const [value, verified] of [
      [false, false],
      ["false", false],
      [undefined, false],
      [1, false],
      ["true", true],
    ] as const) {
      const result = await verify(await mintIdToken(claims({ email_verified: value })));
      expect(result).toMatchObject({ ok: true, identity: { emailVerified: verified } });
    }
  });

  it.each([
    ["a wrong aud", { aud: "someone-elses-client" }, "invalid_claims"],
    ["a wrong iss", { iss: "https://evil.test" }, "invalid_claims"],
    ["an iss with a trailing slash", { iss: `${ISSUER}/` }, "invalid_claims"],
    ["another issuer of the same provider", { iss: IDP }, "invalid_claims"],
    ["an expired exp", { exp: now() - 120 }, "expired"],
    ["an iat in the future", { iat: now() + 600 }, "invalid_claims"],
    ["an iat over an hour old", { iat: now() - 7200 }, "expired"],
    ["no iat", { iat: undefined }, "invalid_claims"],
    ["no sub", { sub: undefined }, "invalid_claims"],
  ])("refuses %s", async (_, overrides, reason) => {
    expect(await verify(await mintIdToken(claims(overrides)))).toEqual({ ok: false, reason });
  });

  it("refuses alg none", async () => {
    expect(await verify(await mintIdToken(claims(), { alg: "none" }))).toEqual({
      ok: false,
      reason: "invalid_signature",
    });
  });

  it("refuses HS256 signed with the provider's public key (key confusion)", async () => {
    expect(await verify(await mintIdToken(claims(), { alg: "HS256-public" }))).toEqual({
      ok: false,
      reason: "invalid_signature",
    });
  });

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await mintIdToken(claims({ sub: "victim" }))).split(".");
    const forged = btoa(JSON.stringify(claims({ sub: "attacker" }))).replace(/=+$/, "");
    expect(await verify(`${header}.${forged}.${signature}`)).toEqual({ ok: false, reason: "invalid_signature" });
  });

  it("refetches the JWKS for an unknown kid, then refuses a token signed by an unpublished key", async () => {
    await verify(await mintIdToken(claims())); // the set is cached
    const before = (await providerStats(ISSUER)).jwksFetches;
    expect(await verify(await mintIdToken(claims(), { key: "unknown" }))).toEqual({
      ok: false,
      reason: "invalid_signature",
    });
    expect((await providerStats(ISSUER)).jwksFetches).toBe(before + 1);
  });

  it("picks up a rotated key through that refetch", async () => {
    await verify(await mintIdToken(claims()));
    await fetch(`${IDP}/test/rotate`, { method: "POST" });
    expect(await verify(await mintIdToken(claims()))).toMatchObject({ ok: true });
  });

  it("refetches at most once per cooldown however many unknown kids arrive", async () => {
    await verify(await mintIdToken(claims()), { jwksCooldownMs: 0 }); // fresh fetch now
    const before = (await providerStats(ISSUER)).jwksFetches;
    const forged = await Promise.all(Array.from({ length: 5 }, () => mintIdToken(claims(), { key: "unknown" })));
    const results = await Promise.all(forged.map((t) => verify(t, { jwksCooldownMs: 60_000 })));
    expect(results.every((r) => !r.ok)).toBe(true);
    expect((await providerStats(ISSUER)).jwksFetches).toBe(before);
  });

  it("checks the nonce when one is expected, and only then", async () => {
    const token = await mintIdToken(claims({ nonce: "n-1" }));
    expect(await verify(token, { nonce: "n-1" })).toMatchObject({ ok: true });
    expect(await verify(token, { nonce: "n-2" })).toEqual({ ok: false, reason: "nonce_mismatch" });
    expect(await verify(await mintIdToken(claims()), { nonce: "n-1" })).toEqual({
      ok: false,
      reason: "nonce_mismatch",
    });
    expect(await verify(token)).toMatchObject({ ok: true });
  });

  it("refuses garbage", async () => {
    for (const token of ["", "a.b.c", "not-a-jwt", "eyJhbGciOiJSUzI1NiJ9..."]) {
      expect(await verify(token)).toMatchObject({ ok: false });
    }
  });
});
