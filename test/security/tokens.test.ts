import { env } from "cloudflare:workers";
import { decode } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { api, login, registerAndLogin, type Session } from "../support/api";
import { deleteUserRow, suspendUser } from "../support/db";
import { expectFailure, expectUnauthorized } from "../support/expect-failure";

type Claims = Record<string, unknown>;

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const encodePart = (part: object) => base64url(new TextEncoder().encode(JSON.stringify(part)));

/**
 * Builds a JWT by hand so any header can be claimed: the signature is an HMAC
 * with `hash` over the two parts, whatever `header.alg` says, or empty when no
 * secret is given (alg "none").
 */
async function forgeJwt(header: object, claims: Claims, secret?: string, hash: "SHA-256" | "SHA-512" = "SHA-256") {
  const unsigned = `${encodePart(header)}.${encodePart(claims)}`;
  if (secret === undefined) return `${unsigned}.`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash }, false, [
    "sign",
  ]);
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(unsigned));
  return `${unsigned}.${base64url(new Uint8Array(signature))}`;
}

const HS256 = { alg: "HS256", typ: "JWT" };
const claimsOf = (s: Session) => decode(s.accessToken).payload as Claims;
const wrongSecret = () => crypto.randomUUID() + crypto.randomUUID();
const me = (token: string) => api("GET", "/me", { token });

describe("access token forgery", () => {
  it("accepts a token the test signs itself with the real secret (the forging helper works)", async () => {
    const s = await registerAndLogin();
    const token = await forgeJwt(HS256, claimsOf(s), env.JWT_SECRET);
    expect((await me(token)).status).toBe(200);
  });

  it('rejects alg "none" in any spelling, unsigned or keeping the real signature', async () => {
    const s = await registerAndLogin();
    const realSignature = s.accessToken.split(".")[2];
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const unsigned = await forgeJwt({ alg, typ: "JWT" }, claimsOf(s));
      expectUnauthorized(await me(unsigned));
      expectUnauthorized(await me(`${unsigned}${realSignature}`));
    }
  });

  it("rejects HS384 and HS512 tokens even when signed with the real secret", async () => {
    const s = await registerAndLogin();
    expectUnauthorized(await me(await forgeJwt({ alg: "HS384", typ: "JWT" }, claimsOf(s), env.JWT_SECRET, "SHA-512")));
    expectUnauthorized(await me(await forgeJwt({ alg: "HS512", typ: "JWT" }, claimsOf(s), env.JWT_SECRET, "SHA-512")));
  });

  it("rejects asymmetric algorithm headers HMAC-signed with the secret (key confusion)", async () => {
    const s = await registerAndLogin();
    for (const alg of ["RS256", "ES256", "PS256", "EdDSA"]) {
      expectUnauthorized(await me(await forgeJwt({ alg, typ: "JWT" }, claimsOf(s), env.JWT_SECRET)));
    }
  });

  it("rejects a token signed with another secret", async () => {
    const s = await registerAndLogin();
    expectUnauthorized(await me(await forgeJwt(HS256, claimsOf(s), wrongSecret())));
  });

  it("rejects a payload raised to admin, re-signed with a wrong secret or keeping the original signature", async () => {
    const s = await registerAndLogin();
    const raised = { ...claimsOf(s), role: "admin" };
    expectUnauthorized(await me(await forgeJwt(HS256, raised, wrongSecret())));
    const [header, , signature] = s.accessToken.split(".");
    expectUnauthorized(await me(`${header}.${encodePart(raised)}.${signature}`));
  });

  it("rejects another user's id swapped into the payload under the original signature", async () => {
    const s = await registerAndLogin();
    const victim = await registerAndLogin();
    const [header, , signature] = s.accessToken.split(".");
    const swapped = { ...claimsOf(s), sub: victim.user.id, sid: claimsOf(victim).sid };
    expectUnauthorized(await me(`${header}.${encodePart(swapped)}.${signature}`));
  });

  it("takes the role from the database, not from a validly signed role claim", async () => {
    const s = await registerAndLogin();
    const token = await forgeJwt(HS256, { ...claimsOf(s), role: "admin" }, env.JWT_SECRET);
    const res = await me(token);
    expect(res.status).toBe(200);
    expect(res.body.data.user.role).toBe("user");
  });
});

describe("validly signed tokens that must still be refused", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("rejects an expired token", async () => {
    const s = await registerAndLogin();
    const expired = { ...claimsOf(s), iat: now() - 3600, exp: now() - 60 };
    expectUnauthorized(await me(await forgeJwt(HS256, expired, env.JWT_SECRET)));
  });

  it("rejects a token without exp", async () => {
    const s = await registerAndLogin();
    const { exp: _exp, ...noExp } = claimsOf(s);
    expectUnauthorized(await me(await forgeJwt(HS256, noExp, env.JWT_SECRET)));
  });

  it("rejects a token without sid", async () => {
    const s = await registerAndLogin();
    const { sid: _sid, ...noSid } = claimsOf(s);
    expectUnauthorized(await me(await forgeJwt(HS256, noSid, env.JWT_SECRET)));
  });

  it("rejects a token pairing the caller's id with another user's session id", async () => {
    const s = await registerAndLogin();
    const victim = await registerAndLogin();
    const mixed = { ...claimsOf(s), sid: claimsOf(victim).sid };
    expectUnauthorized(await me(await forgeJwt(HS256, mixed, env.JWT_SECRET)));
  });

  it("rejects the token of a session revoked by logout, before its exp", async () => {
    const s = await registerAndLogin();
    expect((await api("POST", "/logout", { token: s.accessToken })).status).toBe(200);
    expectUnauthorized(await me(s.accessToken));
  });

  it("rejects the token of a deleted user", async () => {
    const s = await registerAndLogin();
    await deleteUserRow(s.user.id);
    expectUnauthorized(await me(s.accessToken));
  });

  it("answers 403 ACCOUNT_SUSPENDED to the token of a suspended user, on every session", async () => {
    const s = await registerAndLogin();
    const other = await login(s.user);
    await suspendUser(s.user.id);
    expectFailure(await me(s.accessToken), 403, "ACCOUNT_SUSPENDED");
    expectFailure(await api("POST", "/logout", { token: other.accessToken }), 403, "ACCOUNT_SUSPENDED");
  });
});
