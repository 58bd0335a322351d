import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  api,
  login,
  markEmailVerified,
  registerAndLogin,
  registerUser,
  STRONG_PASSWORD,
  unique,
  verifyEmail,
} from "../support/api";
import { rows } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { waitForToken } from "../support/mailbox";
import { enrolled } from "../support/mfa-api";
import { claims, consentAt, mintIdToken, pkcePair, SPA, TEST_OAUTH_PROVIDERS } from "../support/oauth";
import { passkeyLogin } from "../support/passkey-api";
import { passkeyDeps, withPasskey } from "../support/passkeys";
import { settled } from "../support/settled";

/**
 * Pre-account takeover, from the attacker's side (findings s3, F1, F3, F4):
 * someone signs up with the owner's address first and attaches a way back in.
 * Only the owner can read the mailbox; whatever proves it must leave the
 * attacker nothing.
 */
const bindings = { OAUTH_PROVIDERS: TEST_OAUTH_PROVIDERS, CORS_ORIGINS: SPA };
const call = (method: string, path: string, options: Parameters<typeof settled>[2] = {}) =>
  settled(method, path, { ...options, bindings: { ...bindings, ...options?.bindings } });
const DONE = `${SPA}/oauth/done`;

/** "Sign in with Acme" as `sub` claiming `email`: where the callback lands, and the login answer when it gave a code. */
async function acmeSignIn(sub: string, email: string, emailVerified: boolean) {
  const spa = await pkcePair();
  const query = new URLSearchParams({
    redirect_uri: DONE,
    code_challenge: spa.challenge,
    code_challenge_method: "S256",
  });
  const started = await call("GET", `/oauth/acme/authorize?${query}`);
  expect(started.status).toBe(302);
  const back = await consentAt(started.headers.get("location") ?? "", { sub, email, email_verified: emailVerified });
  const res = await call("GET", `/oauth/acme/callback?${new URLSearchParams(back.params)}`);
  const landed = new URL(res.headers.get("location") ?? "");
  const code = landed.searchParams.get("code");
  const login = code ? await call("POST", "/oauth/token", { body: { code, codeVerifier: spa.verifier } }) : null;
  return { landed, login };
}

/** An identity row as the sign-in of a release before this one left it on an unverified account. */
const legacyIdentity = (userId: string, sub: string, email: string) =>
  env.DB.prepare("insert into oauth_identities (id, user_id, provider, subject, email) values (?, ?, 'acme', ?, ?)")
    .bind(crypto.randomUUID(), userId, sub, email)
    .run();

/** The owner's way back: POST /forgot-password, the mailed link, POST /reset-password. */
async function ownerResets(email: string, password: string) {
  expect((await api("POST", "/forgot-password", { body: { email } })).status).toBe(200);
  const token = await waitForToken(email, "/reset-password");
  return api("POST", "/reset-password", { body: { token, password } });
}

const OWNER_PASSWORD = "owners-own-passphrase-7";

describe("F1: an attacker's social identity on the owner's address", () => {
  it("an unverified provider email creates no account: EMAIL_REQUIRED, and the owner can still register", async () => {
    const email = `${unique("owner_")}@example.com`;
    const { landed, login } = await acmeSignIn(unique("attacker-"), email, false);
    expect(landed.searchParams.get("error")).toBe("EMAIL_REQUIRED");
    expect(login).toBeNull();
    expect(await rows("select id from users where email = ?", email)).toEqual([]);
    expect(
      (await api("POST", "/register", { body: { username: unique("o_"), email, password: OWNER_PASSWORD } })).status,
    ).toBe(201);
  });

  it("the native id-token route refuses it the same way: 400 EMAIL_REQUIRED, nothing stored", async () => {
    const email = `${unique("owner_")}@example.com`;
    const idToken = await mintIdToken(claims({ email, email_verified: false, sub: unique("attacker-") }));
    expectFailure(await call("POST", "/oauth/acme/id-token", { body: { idToken } }), 400, "EMAIL_REQUIRED");
    expect(await rows("select id from users where email = ?", email)).toEqual([]);
  });

  it("a verified provider email still signs up, verified", async () => {
    const email = `${unique("new_")}@example.com`;
    const { login } = await acmeSignIn(unique("sub-"), email, true);
    expect(login?.status).toBe(200);
    expect(await rows("select email_verified_at is not null as verified from users where email = ?", email)).toEqual([
      { verified: 1 },
    ]);
  });

  it("the owner's reset of a pre-account takes it back: the attacker's identity, sessions and login codes go", async () => {
    // A pre-account as the previous release made it: the attacker's acme identity on the owner's unverified address.
    const squatter = await registerUser();
    const sub = unique("attacker-");
    await legacyIdentity(squatter.id, sub, squatter.email);
    const before = await acmeSignIn(sub, squatter.email, false);
    expect(before.login?.status).toBe(200);
    const attackerToken = before.login?.body.data.accessToken;
    // A login code the attacker holds back for later, and a link started and not finished.
    const held = await acmeSignIn(sub, squatter.email, false);
    expect(held.landed.searchParams.get("code")).toBeTruthy();

    expect((await ownerResets(squatter.email, OWNER_PASSWORD)).status).toBe(200);

    expect((await api("GET", "/me", { token: attackerToken })).status).toBe(401);
    const again = await acmeSignIn(sub, squatter.email, false);
    expect(again.landed.searchParams.get("error")).toBe("ACCOUNT_EXISTS");
    expect(await rows("select id from oauth_identities where user_id = ?", squatter.id)).toEqual([]);
    expect(await rows("select code_hash from oauth_login_codes where user_id = ?", squatter.id)).toEqual([]);
    // The owner keeps the password just chosen, and the address is now verified.
    const owner = await api("POST", "/login", { body: { email: squatter.email, password: OWNER_PASSWORD } });
    expect(owner.status).toBe(200);
    expect(owner.body.data.user.emailVerified).toBe(true);
    expect(
      await rows("select details from audit_events where target_id = ? and action = 'account_reclaimed'", squatter.id),
    ).toEqual([{ details: JSON.stringify({ via: "reset" }) }]);
  });

  it("a verified account's reset is a plain reset: its identities and passkeys stay", async () => {
    const user = await registerUser();
    await markEmailVerified(user.id);
    await legacyIdentity(user.id, unique("mine-"), user.email);
    const { authenticator } = await withPasskey(passkeyDeps().deps, user);
    expect((await ownerResets(user.email, OWNER_PASSWORD)).status).toBe(200);
    expect(await rows("select id from oauth_identities where user_id = ?", user.id)).toHaveLength(1);
    expect((await passkeyLogin(authenticator, user.email)).status).toBe(200);
    expect(
      await rows("select id from audit_events where target_id = ? and action = 'account_reclaimed'", user.id),
    ).toEqual([]);
  });
});

describe("F3: an attacker's passkey or TOTP on the owner's address", () => {
  it("an unverified account cannot add a passkey, start TOTP or start a link: 403 EMAIL_NOT_VERIFIED", async () => {
    const attacker = await registerAndLogin();
    const proof = { currentPassword: attacker.user.password };
    const token = attacker.accessToken;
    const refused = await Promise.all([
      api("POST", "/me/passkeys/options", { token, body: proof }),
      api("POST", "/me/passkeys", { token, body: { response: {} } }),
      api("POST", "/me/mfa/totp", { token, body: proof }),
      api("POST", "/me/mfa/totp/confirm", { token, body: { code: "123456" } }),
      call("POST", "/me/identities/acme", {
        token,
        body: { ...proof, redirectUri: DONE, codeChallenge: (await pkcePair()).challenge },
      }),
    ]);
    for (const res of refused) expectFailure(res, 403, "EMAIL_NOT_VERIFIED");
    // No step-up was spent on the refusals, and nothing was attached.
    expect(
      await rows("select action from audit_events where target_id = ? and action like '%failure'", attacker.user.id),
    ).toEqual([]);
    expect(await rows("select user_id from totp_credentials where user_id = ?", attacker.user.id)).toEqual([]);
    expect(await rows("select state_hash from oauth_states where link_user_id = ?", attacker.user.id)).toEqual([]);
  });

  it("the owner's reset takes back a pre-account: the attacker's passkey, TOTP, link state and password go", async () => {
    // Attached before this release, when unverified accounts could still do it.
    const squatter = await registerUser();
    const { authenticator } = await withPasskey(passkeyDeps().deps, squatter);
    await env.DB.prepare(
      "insert into oauth_states (state_hash, provider, code_verifier, redirect_uri, code_challenge, link_user_id, expires_at) values (?, 'acme', 'v', ?, 'c', ?, ?)",
    )
      .bind(unique("state_"), DONE, squatter.id, new Date(Date.now() + 600_000).toISOString())
      .run();
    expect((await passkeyLogin(authenticator, squatter.email)).status).toBe(200);

    expect((await ownerResets(squatter.email, OWNER_PASSWORD)).status).toBe(200);

    expectFailure(await passkeyLogin(authenticator, squatter.email), 401, "INVALID_CREDENTIALS");
    expect(await rows("select state_hash from oauth_states where link_user_id = ?", squatter.id)).toEqual([]);
    expectFailure(
      await api("POST", "/login", { body: { email: squatter.email, password: STRONG_PASSWORD } }),
      401,
      "INVALID_CREDENTIALS",
    );
    // And the owner verifying the address afterwards (the registration mail's link, signed in) brings nothing back.
    const owner = await login({ ...squatter, password: OWNER_PASSWORD });
    const verify = await verifyEmail(owner, await waitForToken(squatter.email, "/verify-email"));
    expect(verify.status).toBe(200);
    expectFailure(await passkeyLogin(authenticator, squatter.email), 401, "INVALID_CREDENTIALS");
  });

  it("the owner's reset clears a squatter's TOTP: the owner signs in with one factor", async () => {
    const { user } = await enrolled();
    // The same account state the previous release allowed: TOTP on, email never verified.
    await env.DB.prepare("update users set email_verified_at = null where id = ?").bind(user.id).run();
    expect((await ownerResets(user.email, OWNER_PASSWORD)).status).toBe(200);
    const owner = await api("POST", "/login", { body: { email: user.email, password: OWNER_PASSWORD } });
    expect(owner.status).toBe(200);
    expect(owner.body.data.accessToken).toBeTruthy();
    expect(await rows("select user_id from totp_credentials where user_id = ?", user.id)).toEqual([]);
  });

  it("of a reset and the same link sent again at once, exactly one applies", async () => {
    const squatter = await registerUser();
    expect((await api("POST", "/forgot-password", { body: { email: squatter.email } })).status).toBe(200);
    const token = await waitForToken(squatter.email, "/reset-password");
    const results = await Promise.all(
      [OWNER_PASSWORD, "another-passphrase-9", "third-passphrase-11"].map((password) =>
        api("POST", "/reset-password", { body: { token, password } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
    expect(
      await rows("select id from audit_events where target_id = ? and action = 'account_reclaimed'", squatter.id),
    ).toHaveLength(1);
  });

  it("a stale reset link (password changed since it was mailed) takes nothing back", async () => {
    const squatter = await registerAndLogin();
    const { authenticator } = await withPasskey(passkeyDeps().deps, squatter.user);
    expect((await api("POST", "/forgot-password", { body: { email: squatter.user.email } })).status).toBe(200);
    const token = await waitForToken(squatter.user.email, "/reset-password");
    await env.DB.prepare("update users set password_hash = 'changed-meanwhile' where id = ?")
      .bind(squatter.user.id)
      .run();
    expectFailure(
      await api("POST", "/reset-password", { body: { token, password: OWNER_PASSWORD } }),
      400,
      "INVALID_TOKEN",
    );
    expect((await passkeyLogin(authenticator, squatter.user.email)).status).toBe(200);
    expect(await rows("select email_verified_at from users where id = ?", squatter.user.id)).toEqual([
      { email_verified_at: null },
    ]);
  });
});

describe("F4 and N1: the owner's click on a genuine verification mail", () => {
  it("an attacker cannot make the pre-account that would mail it: no account from an unverified claim", async () => {
    const email = `${unique("vv_")}@example.com`;
    const { landed } = await acmeSignIn(unique("attacker-vv-"), email, false);
    expect(landed.searchParams.get("error")).toBe("EMAIL_REQUIRED");
    // Nothing to send a verification mail from, nothing for the owner's own verified sign-in to join.
    const owners = await acmeSignIn(unique("owner-vv-"), email, true);
    expect(owners.login?.status).toBe(200);
    expect(await rows("select subject from oauth_identities where email = ?", email)).toHaveLength(1);
  });

  it("a pre-account made before this change: the owner's click verifies nothing, and the owner's reset takes it back", async () => {
    const squatter = await registerUser();
    const sub = unique("attacker-u-late-");
    await legacyIdentity(squatter.id, sub, squatter.email);
    const attacker = (await acmeSignIn(sub, squatter.email, false)).login?.body.data;
    expect(attacker?.accessToken).toBeTruthy();
    // The attacker has the genuine mail sent to the owner, who clicks it: without the attacker's session it lands nowhere.
    expect((await api("POST", "/resend-verification", { token: attacker.accessToken })).status).toBe(200);
    const token = await waitForToken(squatter.email, "/verify-email");
    expectFailure(await verifyEmail(undefined, token), 401, "UNAUTHORIZED");
    expect(await rows("select email_verified_at from users where id = ?", squatter.id)).toEqual([
      { email_verified_at: null },
    ]);

    // Still never verified, so the owner's reset takes the account back: identity and sessions go.
    expect((await ownerResets(squatter.email, OWNER_PASSWORD)).status).toBe(200);
    expect((await api("GET", "/me", { token: attacker.accessToken })).status).toBe(401);
    expectFailure(
      await api("POST", "/refresh", { body: { refreshToken: attacker.refreshToken } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expect((await acmeSignIn(sub, squatter.email, false)).landed.searchParams.get("error")).toBe("ACCOUNT_EXISTS");
    expect(await rows("select id from oauth_identities where user_id = ?", squatter.id)).toEqual([]);
    expect(
      await rows("select details from audit_events where target_id = ? and action = 'account_reclaimed'", squatter.id),
    ).toEqual([{ details: JSON.stringify({ via: "reset" }) }]);
  });

  it("an honest registrant's click only verifies: their session and password stay", async () => {
    const honest = await registerAndLogin();
    const verify = await verifyEmail(honest, await waitForToken(honest.user.email, "/verify-email"));
    expect(verify.status).toBe(200);
    expect((await api("GET", "/me", { token: honest.accessToken })).status).toBe(200);
    expect(
      (await api("POST", "/login", { body: { email: honest.user.email, password: honest.user.password } })).status,
    ).toBe(200);
    expect(
      await rows("select id from audit_events where target_id = ? and action = 'account_reclaimed'", honest.user.id),
    ).toEqual([]);
  });

  it("a password pre-account has nothing attached, and the owner's click does not verify it for the attacker", async () => {
    const attacker = await registerAndLogin();
    expect((await api("POST", "/resend-verification", { token: attacker.accessToken })).status).toBe(200);
    expectFailure(
      await api("POST", "/me/passkeys/options", {
        token: attacker.accessToken,
        body: { currentPassword: attacker.user.password },
      }),
      403,
      "EMAIL_NOT_VERIFIED",
    );
    const token = await waitForToken(attacker.user.email, "/verify-email");
    expectFailure(await verifyEmail(undefined, token), 401, "UNAUTHORIZED");
    expect(await rows("select email_verified_at from users where id = ?", attacker.user.id)).toEqual([
      { email_verified_at: null },
    ]);
    expect(await rows("select id from passkey_credentials where user_id = ?", attacker.user.id)).toEqual([]);
    expect(await rows("select id from oauth_identities where user_id = ?", attacker.user.id)).toEqual([]);
  });
});
