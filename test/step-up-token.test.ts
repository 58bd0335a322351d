import { env } from "cloudflare:workers";
import { decode, sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { api, registerVerifiedAndLogin, type Session, unique } from "./support/api";
import { SoftwareAuthenticator } from "./support/authenticator";
import { rows } from "./support/db";
import { expectFailure } from "./support/expect-failure";
import { codeNow, enrolled } from "./support/mfa-api";
import { ORIGIN } from "./support/passkeys";
import { sessionIdOf } from "./support/sessions";

/**
 * Step-up is bound to the access token that proved it (review finding M1):
 * a thief who refreshed the session's stolen refresh token to his own access
 * token does not ride the owner's POST /me/reauthenticate, and a passkey
 * registration challenge serves only the session and token that asked for it.
 */

const reauthenticate = (s: Pick<Session, "accessToken" | "user">) =>
  api("POST", "/me/reauthenticate", { token: s.accessToken, body: { password: s.user.password } });

/** A second access token of the same session, as whoever holds its refresh token gets one. */
async function refreshed(s: Session): Promise<Session> {
  const res = await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } });
  expect(res.status).toBe(200);
  return { ...s, accessToken: res.body.data.accessToken, refreshToken: res.body.data.refreshToken };
}

/** The payload of a JWT (no verification: only to compare claims). */
const claimsOf = (token: string) => decode(token).payload;

/** Every step-up route that a recent proof alone (no inline password) may authorise, as its owner would call it. */
const sensitive = (s: Session) => [
  () => api("POST", "/me/passkeys/options", { token: s.accessToken, body: {} }),
  () => api("POST", "/me/mfa/totp", { token: s.accessToken, body: {} }),
  () => api("PATCH", "/me", { token: s.accessToken, body: { email: `${unique("moved_")}@example.com` } }),
  () =>
    api("PATCH", `/user/${s.user.id}`, { token: s.accessToken, body: { email: `${unique("alias_")}@example.com` } }),
  () => api("DELETE", "/me", { token: s.accessToken, body: {} }),
];

describe("step-up is bound to the access token that proved it (M1)", () => {
  it("two tokens of one session: the owner's re-authentication does not authorise the refreshed token", async () => {
    const owner = await registerVerifiedAndLogin();
    const thief = await refreshed(owner); // stolen refresh token, same session
    expect(claimsOf(thief.accessToken).sid).toBe(claimsOf(owner.accessToken).sid);
    expect(claimsOf(thief.accessToken).jti).not.toBe(claimsOf(owner.accessToken).jti);
    expectFailure(await sensitive(thief)[0]!(), 403, "REAUTHENTICATION_REQUIRED");

    expect((await reauthenticate(owner)).status).toBe(200);
    for (const action of sensitive(thief)) expectFailure(await action(), 403, "REAUTHENTICATION_REQUIRED");
    // Nothing the thief tried landed.
    const [row] = await rows("select email, pending_email from users where id = ?", owner.user.id);
    expect(row).toEqual({ email: owner.user.email, pending_email: null });

    // The owner's token carries the proof, on every route (DELETE /me last: it ends the account).
    for (const action of sensitive(owner)) expect((await action()).status).toBe(200);
  });

  it("on an MFA account too: the owner's password-and-code re-authentication stays with the owner's token", async () => {
    const e = await enrolled();
    const thief = await refreshed(e.session);
    const proof = { password: e.user.password, code: codeNow(e.secret) };
    expect((await api("POST", "/me/reauthenticate", { token: e.session.accessToken, body: proof })).status).toBe(200);
    for (const action of sensitive(thief).slice(0, 4)) expectFailure(await action(), 403, "REAUTHENTICATION_REQUIRED");
    expect((await sensitive(e.session)[0]!()).status).toBe(200);
  });

  it("a refresh within the reuse grace mints a new access token, without the proof of the one it replaces", async () => {
    const s = await registerVerifiedAndLogin();
    const owner = await refreshed(s); // the owner's browser rotates
    expect((await reauthenticate(owner)).status).toBe(200);
    const replay = await refreshed(s); // the old refresh token again, inside REFRESH_REUSE_GRACE
    expect(replay.refreshToken).toBe(owner.refreshToken); // the grace hands out the same successor...
    expect(replay.accessToken).not.toBe(owner.accessToken); // ...but a new access token
    expect(claimsOf(replay.accessToken).jti).not.toBe(claimsOf(owner.accessToken).jti);
    expectFailure(await sensitive(replay)[0]!(), 403, "REAUTHENTICATION_REQUIRED");
    expect((await sensitive(owner)[0]!()).status).toBe(200);
  });

  it("the owner who refreshes after re-authenticating must re-authenticate again", async () => {
    const s = await registerVerifiedAndLogin();
    expect((await reauthenticate(s)).status).toBe(200);
    const next = await refreshed(s);
    expectFailure(await sensitive(next)[0]!(), 403, "REAUTHENTICATION_REQUIRED");
    expect((await reauthenticate(next)).status).toBe(200);
    expect((await sensitive(next)[0]!()).status).toBe(200);
  });

  it("a newer re-authentication by another token of the session takes the proof away from the first", async () => {
    const a = await registerVerifiedAndLogin();
    const b = await refreshed(a);
    expect((await reauthenticate(a)).status).toBe(200);
    expect((await reauthenticate(b)).status).toBe(200);
    expectFailure(await sensitive(a)[0]!(), 403, "REAUTHENTICATION_REQUIRED");
    expect((await sensitive(b)[0]!()).status).toBe(200);
  });

  it("a token without a jti (signed before it existed) still signs in but never carries a recent proof", async () => {
    const s = await registerVerifiedAndLogin();
    const { sub, sid, role, iat, exp } = claimsOf(s.accessToken);
    const legacy = await sign({ sub, sid, role, iat, exp }, env.JWT_SECRET, "HS256");
    const old = { ...s, accessToken: legacy };
    expect((await api("GET", "/me", { token: legacy })).status).toBe(200);
    // Re-authenticating with it is refused before anything is compared: the client refreshes first.
    expectFailure(await reauthenticate(old), 401, "UNAUTHORIZED");
    // A proof with no token id on the row (as one recorded before this change) counts for no token.
    await env.DB.prepare("update sessions set last_proof_at = ?, last_proof_jti = null where id = ?")
      .bind(new Date().toISOString(), sessionIdOf(s))
      .run();
    expectFailure(await sensitive(old)[0]!(), 403, "REAUTHENTICATION_REQUIRED");
    expectFailure(await sensitive(s)[0]!(), 403, "REAUTHENTICATION_REQUIRED");
  });

  it("a forged jti (token re-signed without the key) is refused outright", async () => {
    const s = await registerVerifiedAndLogin();
    expect((await reauthenticate(s)).status).toBe(200);
    const [header, , signature] = s.accessToken.split(".");
    const body = btoa(JSON.stringify({ ...claimsOf(s.accessToken), jti: "forged" })).replace(/=+$/, "");
    const res = await api("POST", "/me/passkeys/options", { token: `${header}.${body}.${signature}`, body: {} });
    expect(res.status).toBe(401);
  });
});

describe("the passkey registration challenge is bound to the session and token that asked for it", () => {
  async function optionsOn(s: Session) {
    const res = await api("POST", "/me/passkeys/options", {
      token: s.accessToken,
      body: { currentPassword: s.user.password },
    });
    expect(res.status).toBe(200);
    return res.body.data.options;
  }
  const addWith = (s: Session, response: unknown) =>
    api("POST", "/me/passkeys", { token: s.accessToken, body: { response } });
  const passkeysOf = async (userId: string) =>
    (await rows("select id from passkey_credentials where user_id = ?", userId)).length;

  it("options fetched on S1 are refused on S2 and on another token of S1, and stay usable by the asker", async () => {
    const s1 = await registerVerifiedAndLogin();
    const loggedIn = await api("POST", "/login", { body: { email: s1.user.email, password: s1.user.password } });
    const s2: Session = { ...s1, accessToken: loggedIn.body.data.accessToken };
    expect(sessionIdOf(s2)).not.toBe(sessionIdOf(s1));
    const s1Other = await refreshed(s1);
    const response = await (await SoftwareAuthenticator.create(ORIGIN)).register(await optionsOn(s1));

    expectFailure(await addWith(s2, response), 400, "INVALID_PASSKEY");
    expectFailure(await addWith(s1Other, response), 400, "INVALID_PASSKEY");
    expect(await passkeysOf(s1.user.id)).toBe(0);
    // Refused attempts from elsewhere do not spend the asker's challenge.
    expect((await addWith(s1, response)).status).toBe(201);
    expect(await passkeysOf(s1.user.id)).toBe(1);
  });

  it("after S1 logs out its challenge is useless from S2", async () => {
    const s1 = await registerVerifiedAndLogin();
    const loggedIn = await api("POST", "/login", { body: { email: s1.user.email, password: s1.user.password } });
    const s2: Session = { ...s1, accessToken: loggedIn.body.data.accessToken };
    const response = await (await SoftwareAuthenticator.create(ORIGIN)).register(await optionsOn(s1));
    expect((await api("POST", "/logout", { token: s1.accessToken, body: {} })).status).toBe(200);
    expectFailure(await addWith(s2, response), 400, "INVALID_PASSKEY");
    expect(await passkeysOf(s1.user.id)).toBe(0);
  });
});
