import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NO_PASSWORD } from "../src/auth/sign-in-methods";
import { api, registerVerifiedAndLogin, unique } from "./support/api";
import { SoftwareAuthenticator } from "./support/authenticator";
import { failuresOf, rows, setFailures, suspendUser } from "./support/db";
import { expectFailure } from "./support/expect-failure";
import { waitForEmail } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import { addPasskey, passkeyLogin, signedAssertion } from "./support/passkey-api";
import { ORIGIN } from "./support/passkeys";
import { auditCount, sessionIdOf } from "./support/sessions";
import { settled } from "./support/settled";

const removePassword = (userId: string) =>
  env.DB.prepare("update users set password_hash = ?, has_password = 0 where id = ?").bind(NO_PASSWORD, userId).run();

const sessionsOf = async (userId: string) =>
  (await rows("select id, amr from sessions where user_id = ?", userId)) as { id: string; amr: string }[];

const loginFailureReasons = async (userId: string) =>
  (
    (await rows(
      "select details from audit_events where target_id = ? and action = 'login_failure' order by created_at",
      userId,
    )) as { details: string }[]
  ).map((r) => JSON.parse(r.details).reason);

describe("registering a passkey", () => {
  it("needs step-up for options, registers, lists, audits passkey_add and emails the owner without the name", async () => {
    const session = await registerVerifiedAndLogin();
    const noProof = await api("POST", "/me/passkeys/options", { token: session.accessToken, body: {} });
    expectFailure(noProof, 403, "REAUTHENTICATION_REQUIRED");
    const wrong = await api("POST", "/me/passkeys/options", {
      token: session.accessToken,
      body: { currentPassword: "not-the-password-1" },
    });
    expectFailure(wrong, 401, "INVALID_CREDENTIALS");

    const { authenticator, passkey } = await addPasskey(session, { name: "Secret-Laptop-Name" });
    expect(passkey).toEqual({
      id: authenticator.id,
      name: "Secret-Laptop-Name",
      createdAt: expect.any(String),
      lastUsedAt: null,
      backedUp: true,
      deviceType: "multiDevice",
    });
    const list = await api("GET", "/me/passkeys", { token: session.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.data.passkeys).toEqual([passkey]);
    expect(await auditCount(session.user.id, "passkey_add")).toBe(1);
    const notice = await waitForEmail(session.user.email, 2);
    expect(notice.subject).toBe("A passkey was added to your account");
    expect(`${notice.text}${notice.html}`).not.toContain("Secret-Laptop-Name");
  });

  it("refuses a registration from a wrong origin, for a wrong RP ID, without UV, or replayed (400 INVALID_PASSKEY)", async () => {
    const session = await registerVerifiedAndLogin();
    const proof = { token: session.accessToken, body: { currentPassword: session.user.password } };
    for (const knobs of [{ origin: "https://evil.example" }, { rpId: "evil.example" }, { userVerified: false }]) {
      const authenticator = await SoftwareAuthenticator.create(ORIGIN);
      const options = await api("POST", "/me/passkeys/options", proof);
      const response = await authenticator.register(options.body.data.options, knobs);
      const res = await api("POST", "/me/passkeys", { token: session.accessToken, body: { response } });
      expectFailure(res, 400, "INVALID_PASSKEY");
    }
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const options = await api("POST", "/me/passkeys/options", proof);
    const response = await authenticator.register(options.body.data.options);
    const results = await Promise.all(
      [1, 2, 3].map(() => api("POST", "/me/passkeys", { token: session.accessToken, body: { response } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400]);
    expect(await rows("select id from passkey_credentials where user_id = ?", session.user.id)).toHaveLength(1);
  });

  it("refuses another account's registration challenge", async () => {
    const [alice, mallory] = await Promise.all([registerVerifiedAndLogin(), registerVerifiedAndLogin()]);
    const options = await api("POST", "/me/passkeys/options", {
      token: alice.accessToken,
      body: { currentPassword: alice.user.password },
    });
    const response = await (await SoftwareAuthenticator.create(ORIGIN)).register(options.body.data.options);
    expectFailure(
      await api("POST", "/me/passkeys", { token: mallory.accessToken, body: { response } }),
      400,
      "INVALID_PASSKEY",
    );
  });

  it("answers 503 MISCONFIGURED when no RP ID can be known", async () => {
    const session = await registerVerifiedAndLogin();
    const bindings = { APP_URL: "", WEBAUTHN_RP_ID: "", MAIL_PROVIDER: "console" };
    const res = await settled("POST", "/passkeys/login/options", { body: {}, bindings });
    expectFailure(res, 503, "MISCONFIGURED");
    const me = await settled("POST", "/me/passkeys/options", {
      token: session.accessToken,
      body: { currentPassword: session.user.password },
      bindings,
    });
    expectFailure(me, 503, "MISCONFIGURED");
  });
});

describe("signing in with a passkey", () => {
  it("with and without an email: the usual answer, two factors, passkey_login, lastUsedAt", async () => {
    const session = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(session);
    for (const email of [session.user.email, undefined]) {
      const res = await passkeyLogin(authenticator, email);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.data).sort()).toEqual([
        "accessToken",
        "expiresIn",
        "refreshToken",
        "tokenType",
        "user",
      ]);
      expect(res.body.data.user.id).toBe(session.user.id);
      const me = await api("GET", "/me", { token: res.body.data.accessToken });
      expect(me.status).toBe(200);
      const [row] = await rows("select amr from sessions where id = ?", sessionIdOf(res.body.data));
      expect(row).toEqual({ amr: "hwk,uv" });
    }
    expect(await auditCount(session.user.id, "passkey_login")).toBe(2);
    const [stored] = await rows("select last_used_at, counter from passkey_credentials where id = ?", authenticator.id);
    expect(stored?.last_used_at).toEqual(expect.any(String));
    expect(stored?.counter).toBe(2);
  });

  it("answers an unknown email's options in the same shape as a real one's", async () => {
    const session = await registerVerifiedAndLogin();
    await addPasskey(session);
    const answers = await Promise.all(
      [session.user.email, `${unique("nobody_")}@example.com`].map((email) =>
        api("POST", "/passkeys/login/options", { body: { email } }),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.data).sort()).toEqual(["challengeId", "options"]);
      expect(Object.keys(res.body.data.options).sort()).toEqual([
        "allowCredentials",
        "challenge",
        "rpId",
        "timeout",
        "userVerification",
      ]);
      const listed = res.body.data.options.allowCredentials as unknown[];
      expect(listed.length).toBeGreaterThanOrEqual(1);
      expect(listed.length).toBeLessThanOrEqual(3);
      for (const credential of listed) {
        expect(credential).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), type: "public-key" });
      }
    }
  });

  it.each([
    ["a wrong origin", { origin: "https://evil.example" }, "origin"],
    ["a wrong RP ID", { rpId: "evil.example" }, "rp_id"],
    ["no user verification", { userVerified: false }, "user_verification"],
  ])("refuses an assertion with %s (401), audits why, and counts it toward the lockout", async (_, knobs, reason) => {
    const session = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(session);
    const ip = "10.99.1.1";
    const body = await signedAssertion(authenticator, session.user.email, knobs);
    expectFailure(await api("POST", "/passkeys/login", { body, ip }), 401, "INVALID_CREDENTIALS");
    expect(await loginFailureReasons(session.user.id)).toEqual([reason]);
    expect(await failuresOf(session.user.email)).toMatchObject({ account: 1, "net:10.99.1.1": 1 });
    expect(await sessionsOf(session.user.id)).toHaveLength(1);
  });

  it("uses a challenge once: a replay is refused, and of parallel copies exactly one gets a session", async () => {
    const session = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(session);
    const body = await signedAssertion(authenticator, session.user.email);
    const results = await Promise.all(Array.from({ length: 5 }, () => api("POST", "/passkeys/login", { body })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
    expectFailure(await api("POST", "/passkeys/login", { body }), 401, "INVALID_CREDENTIALS");
    expect(await sessionsOf(session.user.id)).toHaveLength(2); // the password login and one passkey login
  });

  it("refuses a counter that goes backwards and audits it as a counter regression", async () => {
    const session = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(session);
    expect((await passkeyLogin(authenticator, undefined, { counter: 9 })).status).toBe(200);
    expectFailure(await passkeyLogin(authenticator, undefined, { counter: 4 }), 401, "INVALID_CREDENTIALS");
    expect(await loginFailureReasons(session.user.id)).toEqual(["counter_regression"]);
    expect(await rows("select counter from passkey_credentials where id = ?", authenticator.id)).toEqual([
      { counter: 9 },
    ]);
  });

  it("refuses another user's passkey answering a challenge issued for an email", async () => {
    const [alice, bob] = await Promise.all([registerVerifiedAndLogin(), registerVerifiedAndLogin()]);
    await addPasskey(alice);
    const { authenticator: bobsKey } = await addPasskey(bob);
    expectFailure(await passkeyLogin(bobsKey, alice.user.email), 401, "INVALID_CREDENTIALS");
    expect(await loginFailureReasons(bob.user.id)).toEqual(["wrong_user"]);
    expect(await sessionsOf(alice.user.id)).toHaveLength(1);
  });

  it("refuses an unknown credential and malformed bodies", async () => {
    const stranger = await SoftwareAuthenticator.create(ORIGIN);
    expectFailure(await passkeyLogin(stranger), 401, "INVALID_CREDENTIALS");
    expectFailure(await api("POST", "/passkeys/login", { body: { challengeId: "x" } }), 400, "VALIDATION_ERROR");
    const body = await signedAssertion(stranger);
    const broken = { ...body, response: { ...body.response, id: "not base64url!" } };
    expectFailure(await api("POST", "/passkeys/login", { body: broken }), 400, "VALIDATION_ERROR");
    expectFailure(
      await api("POST", "/passkeys/login/options", { body: { email: "not-an-email" } }),
      400,
      "VALIDATION_ERROR",
    );
  });

  it("limits an unverified account when verification is required, and refuses a suspended one and a locked network", async () => {
    const session = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(session);
    // An account whose email went unverified after the passkey was added (an admin changed the address).
    await env.DB.prepare("update users set email_verified_at = null where id = ?").bind(session.user.id).run();
    const bindings = { REQUIRE_EMAIL_VERIFICATION: "true" };
    const unverified = await settled("POST", "/passkeys/login", {
      body: await signedAssertion(authenticator),
      bindings,
    });
    // Signed in, as every unverified account is, to get verified (N1); nothing else is reachable.
    const limited = await settled("GET", "/posts", { token: unverified.body.data.accessToken, bindings });
    expectFailure(limited, 403, "EMAIL_NOT_VERIFIED");
    const ip = "10.99.2.2";
    await setFailures(session.user.email, "net:10.99.2.2", 10);
    const locked = await api("POST", "/passkeys/login", { body: await signedAssertion(authenticator), ip });
    expectFailure(locked, 429, "ACCOUNT_LOCKED");
    await suspendUser(session.user.id);
    expectFailure(await passkeyLogin(authenticator), 403, "ACCOUNT_SUSPENDED");
    // The first session and the limited one: the refused sign-ins made none.
    expect(await sessionsOf(session.user.id)).toHaveLength(2);
  });

  it("signs an account with MFA in without a TOTP step (a verified passkey is two factors)", async () => {
    const { session, user, secret } = await enrolled();
    const { authenticator } = await addPasskey(session, { code: codeNow(secret) });
    const res = await passkeyLogin(authenticator, user.email);
    expect(res.status).toBe(200);
    expect(res.body.data.accessToken).toEqual(expect.any(String));
    expect(res.body.data.mfaRequired).toBeUndefined();
  });
});

describe("managing passkeys", () => {
  it("renames and removes only one's own passkeys: another user's id is 404", async () => {
    const [alice, mallory] = await Promise.all([registerVerifiedAndLogin(), registerVerifiedAndLogin()]);
    const { passkey } = await addPasskey(alice);
    const path = `/me/passkeys/${passkey.id}`;
    expectFailure(await api("PATCH", path, { token: mallory.accessToken, body: { name: "mine" } }), 404, "NOT_FOUND");
    expectFailure(
      await api("DELETE", path, { token: mallory.accessToken, body: { currentPassword: mallory.user.password } }),
      404,
      "NOT_FOUND",
    );
    const renamed = await api("PATCH", path, { token: alice.accessToken, body: { name: " Phone " } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data.passkey).toMatchObject({ id: passkey.id, name: "Phone" });
    expectFailure(await api("PATCH", path, { token: alice.accessToken, body: { name: "" } }), 400, "VALIDATION_ERROR");
  });

  it("needs step-up to remove, audits passkey_remove and emails the owner", async () => {
    const session = await registerVerifiedAndLogin();
    const { passkey } = await addPasskey(session);
    const path = `/me/passkeys/${passkey.id}`;
    expectFailure(
      await api("DELETE", path, { token: session.accessToken, body: {} }),
      403,
      "REAUTHENTICATION_REQUIRED",
    );
    const removed = await api("DELETE", path, {
      token: session.accessToken,
      body: { currentPassword: session.user.password },
    });
    expect(removed.status).toBe(200);
    expect(await auditCount(session.user.id, "passkey_remove")).toBe(1);
    const notice = await waitForEmail(session.user.email, 3);
    expect(notice.subject).toBe("A passkey was removed from your account");
    expectFailure(
      await api("DELETE", path, { token: session.accessToken, body: { currentPassword: session.user.password } }),
      404,
      "NOT_FOUND",
    );
  });

  it("refuses to remove the last way in (409 LAST_SIGN_IN_METHOD), and writes no audit line", async () => {
    const session = await registerVerifiedAndLogin();
    const { authenticator, passkey } = await addPasskey(session);
    await removePassword(session.user.id);
    // Without a password, step-up comes from the passkey itself.
    const proof = await signedAssertion(authenticator);
    const reauth = await api("POST", "/me/reauthenticate", { token: session.accessToken, body: { passkey: proof } });
    expect(reauth.status).toBe(200);
    const res = await api("DELETE", `/me/passkeys/${passkey.id}`, { token: session.accessToken, body: {} });
    expectFailure(res, 409, "LAST_SIGN_IN_METHOD");
    expect(await auditCount(session.user.id, "passkey_remove")).toBe(0);
    expect(await rows("select id from passkey_credentials where user_id = ?", session.user.id)).toHaveLength(1);
  });
});

describe("removing the last two passkeys at once", () => {
  it("lets exactly one of two parallel removals through when no password remains", async () => {
    const session = await registerVerifiedAndLogin();
    const [a, b] = [await addPasskey(session), await addPasskey(session)];
    await removePassword(session.user.id);
    const proof = await signedAssertion(a.authenticator);
    expect(
      (await api("POST", "/me/reauthenticate", { token: session.accessToken, body: { passkey: proof } })).status,
    ).toBe(200);
    const results = await Promise.all(
      [a, b].map(({ passkey }) =>
        api("DELETE", `/me/passkeys/${passkey.id}`, { token: session.accessToken, body: {} }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await rows("select id from passkey_credentials where user_id = ?", session.user.id)).toHaveLength(1);
    expect(await auditCount(session.user.id, "passkey_remove")).toBe(1);
  });
});

describe("a passkey as step-up proof (POST /me/reauthenticate)", () => {
  it("accepts the caller's own passkey, which then authorises a removal without inline proof", async () => {
    const session = await registerVerifiedAndLogin();
    const [{ authenticator }, second] = [await addPasskey(session), await addPasskey(session)];
    const proof = await signedAssertion(authenticator, session.user.email);
    const res = await api("POST", "/me/reauthenticate", { token: session.accessToken, body: { passkey: proof } });
    expect(res.status).toBe(200);
    expect(res.body.data.stepUpExpiresIn).toBeGreaterThan(0);
    const removed = await api("DELETE", `/me/passkeys/${second.passkey.id}`, { token: session.accessToken, body: {} });
    expect(removed.status).toBe(200);
  });

  it("refuses another user's passkey, even on a challenge without an email, and a replayed proof", async () => {
    const [alice, bob] = await Promise.all([registerVerifiedAndLogin(), registerVerifiedAndLogin()]);
    const { authenticator: bobsKey } = await addPasskey(bob);
    const { authenticator: alicesKey } = await addPasskey(alice);
    const foreign = await signedAssertion(bobsKey);
    const res = await api("POST", "/me/reauthenticate", { token: alice.accessToken, body: { passkey: foreign } });
    expectFailure(res, 401, "INVALID_CREDENTIALS");
    // Bob's counter was not touched: the challenge was bound to Alice before anything was checked.
    expect(await rows("select last_used_at from passkey_credentials where id = ?", bobsKey.id)).toEqual([
      { last_used_at: null },
    ]);
    const own = await signedAssertion(alicesKey);
    expect((await api("POST", "/me/reauthenticate", { token: alice.accessToken, body: { passkey: own } })).status).toBe(
      200,
    );
    expectFailure(
      await api("POST", "/me/reauthenticate", { token: alice.accessToken, body: { passkey: own } }),
      401,
      "INVALID_CREDENTIALS",
    );
    expectFailure(
      await api("DELETE", `/me/passkeys/${alicesKey.id}`, { token: bob.accessToken, body: {} }),
      403,
      "REAUTHENTICATION_REQUIRED",
    );
  });

  it("counts a refused passkey proof toward the session's budget: the fifth failure revokes the session", async () => {
    const session = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(session);
    for (let i = 1; i <= 5; i++) {
      const proof = await signedAssertion(authenticator, undefined, { origin: "https://evil.example" });
      const res = await api("POST", "/me/reauthenticate", { token: session.accessToken, body: { passkey: proof } });
      expectFailure(res, 401, "INVALID_CREDENTIALS");
    }
    expectFailure(await api("GET", "/me", { token: session.accessToken }), 401, "UNAUTHORIZED");
  });

  it("with MFA on, a passkey re-authenticates without a code", async () => {
    const { session, secret } = await enrolled();
    const { authenticator } = await addPasskey(session, { code: codeNow(secret) });
    const proof = await signedAssertion(authenticator);
    const res = await api("POST", "/me/reauthenticate", { token: session.accessToken, body: { passkey: proof } });
    expect(res.status).toBe(200);
    const [row] = await rows("select last_proof_at from sessions where id = ?", sessionIdOf(session));
    expect(row?.last_proof_at).toEqual(expect.any(String));
  });
});
