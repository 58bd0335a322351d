import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  api,
  login,
  markEmailVerified,
  registerAndLogin,
  registerUser,
  registerVerifiedAndLogin,
  setRole,
  type TestUser,
} from "./support/api";
import { expectFailure } from "./support/expect-failure";
import { waitForEmail, waitForToken } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import { settled } from "./support/settled";
import { base32Decode, wrongCodes } from "./support/totp";

const passwordStep = async (user: TestUser) => {
  const res = await api("POST", "/login", { body: { email: user.email, password: user.password } });
  expect(res.status).toBe(200);
  return res.body.data as { mfaRequired: true; mfaToken: string; methods: string[] };
};

describe("TOTP enrolment and login with a second factor", () => {
  it("enrols, shows mfaEnabled, and login then needs a code; a replayed code is refused", async () => {
    const { session, user, secret } = await enrolled();
    const me = await api("GET", "/me", { token: session.accessToken });
    expect(me.body.data.user.mfaEnabled).toBe(true);

    const step = await passwordStep(user);
    expect(step).toMatchObject({ mfaRequired: true, methods: ["totp", "recovery_code"], expiresIn: 300 });
    expect(step).not.toHaveProperty("accessToken");
    const code = codeNow(secret);
    const done = await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code } });
    expect(done.status).toBe(200);
    expect(done.body.data.accessToken).toBeTypeOf("string");

    // The token is single use, and the same code (same step) is refused with a fresh token.
    expectFailure(
      await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code } }),
      401,
      "INVALID_MFA_TOKEN",
    );
    const again = await passwordStep(user);
    expectFailure(
      await api("POST", "/login/mfa", { body: { mfaToken: again.mfaToken, code } }),
      401,
      "INVALID_MFA_CODE",
    );
    // +1 step of drift is still accepted.
    const later = await api("POST", "/login/mfa", { body: { mfaToken: again.mfaToken, code: codeNow(secret, 1) } });
    expect(later.status).toBe(200);
  });

  it("refuses codes two steps away, and a wrong password is the same 401 as for any account", async () => {
    const { user, secret } = await enrolled();
    const step = await passwordStep(user);
    for (const drift of [-2, 2]) {
      const res = await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code: codeNow(secret, drift) } });
      expectFailure(res, 401, "INVALID_MFA_CODE");
    }
    const wrong = await api("POST", "/login", { body: { email: user.email, password: "not-the-password-1" } });
    const plain = await registerUser();
    const wrongPlain = await api("POST", "/login", { body: { email: plain.email, password: "not-the-password-1" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(wrongPlain.body);
  });

  it("dies after five wrong codes; forged tokens are refused", async () => {
    const { user, secret } = await enrolled();
    const step = await passwordStep(user);
    for (const code of wrongCodes(secret, Date.now(), 5)) {
      expectFailure(
        await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code } }),
        401,
        "INVALID_MFA_CODE",
      );
    }
    const right = await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code: codeNow(secret) } });
    expectFailure(right, 401, "INVALID_MFA_TOKEN");
    const forged = await api("POST", "/login/mfa", { body: { mfaToken: `${step.mfaToken}x`, code: codeNow(secret) } });
    expectFailure(forged, 401, "INVALID_MFA_TOKEN");
    const audit = await env.DB.prepare(
      "select count(*) as n from audit_events where action = 'mfa_failure' and target_id = ?",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(audit?.n).toBeGreaterThanOrEqual(5);
  });

  it("a recovery code signs in once, even used in parallel, and the owner is mailed how many remain", async () => {
    const { user, recoveryCodes } = await enrolled();
    const [a, b] = [await passwordStep(user), await passwordStep(user)];
    const results = await Promise.all(
      [a, b].map((s) =>
        settled("POST", "/login/mfa", { body: { mfaToken: s.mfaToken, recoveryCode: recoveryCodes[0] } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const mail = await waitForEmail(user.email, 3);
    expect(mail.subject).toBe("A recovery code was used to sign in");
    expect(mail.text).toContain("9 unused recovery codes remain");
  });

  it("wrong codes count toward the lockout, and a right password in between does not reset it", async () => {
    const { user, secret } = await enrolled();
    const ip = "10.77.1.2";
    const passwordAgain = () => api("POST", "/login", { ip, body: { email: user.email, password: user.password } });
    const guess = (mfaToken: string, code: string) => api("POST", "/login/mfa", { ip, body: { mfaToken, code } });
    // 1 (password) + 5 codes + 1 (password) + 3 codes = 10 failures from this network: the next attempt is refused.
    const first = await passwordAgain();
    for (const code of wrongCodes(secret, Date.now(), 5))
      expect((await guess(first.body.data.mfaToken, code)).status).toBe(401);
    const second = await passwordAgain();
    expect(second.body.data.mfaRequired).toBe(true);
    for (const code of wrongCodes(secret, Date.now(), 3))
      expect((await guess(second.body.data.mfaToken, code)).status).toBe(401);
    expectFailure(await guess(second.body.data.mfaToken, codeNow(secret)), 429, "ACCOUNT_LOCKED");
    expectFailure(await passwordAgain(), 429, "ACCOUNT_LOCKED");
    // The owner on another network still gets in (slowed down: the email is past its failure threshold).
    const elsewhere = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    const done = await api("POST", "/login/mfa", {
      body: { mfaToken: elsewhere.body.data.mfaToken, code: codeNow(secret) },
    });
    expect(done.status).toBe(200);
  }, 30_000);
});

describe("the second step from the attacker's side", () => {
  it("finishes the second step of a login that upgraded the password hash (a new BCRYPT_COST)", async () => {
    const { user, secret } = await enrolled();
    const bindings = { BCRYPT_COST: "5" };
    const step = await settled("POST", "/login", { bindings, body: { email: user.email, password: user.password } });
    expect(step.body.data.mfaRequired).toBe(true);
    const done = await settled("POST", "/login/mfa", {
      bindings,
      body: { mfaToken: step.body.data.mfaToken, code: codeNow(secret, 1) },
    });
    expect(done.status).toBe(200);
    const { password_hash } =
      (await env.DB.prepare("select password_hash from users where id = ?")
        .bind(user.id)
        .first<{ password_hash: string }>()) ?? {};
    expect(password_hash?.slice(0, 7)).toMatch(/^\$2.\$05\$/);
  });

  it("signs every other session out when MFA is turned on: an intruder's refresh token dies", async () => {
    const intruder = await registerVerifiedAndLogin();
    const owner = await login(intruder.user);
    const started = await api("POST", "/me/mfa/totp", {
      token: owner.accessToken,
      body: { currentPassword: owner.user.password },
    });
    const secret = base32Decode(started.body.data.secret);
    expect(
      (await api("POST", "/me/mfa/totp/confirm", { token: owner.accessToken, body: { code: codeNow(secret) } })).status,
    ).toBe(200);
    expectFailure(
      await api("POST", "/refresh", { body: { refreshToken: intruder.refreshToken } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expect((await api("GET", "/me", { token: owner.accessToken })).status).toBe(200);
  });

  it("keeps the owner's own network able to finish sign-in while strangers burn wrong codes elsewhere", async () => {
    const { user, secret } = await enrolled();
    const step = (ip: string) =>
      api("POST", "/login", { ip, body: { email: user.email, password: user.password } }).then(
        (r) => r.body.data.mfaToken as string,
      );
    // Two strangers who know the password spend the per-minute budget of their own networks.
    for (const ip of ["2001:db8:aa:0::1", "2001:db8:aa:1::1"]) {
      const token = await step(ip);
      for (let i = 0; i < 5; i++) await api("POST", "/login/mfa", { ip, body: { mfaToken: token, code: "000000" } });
    }
    const ownerIp = "192.0.2.77";
    const done = await api("POST", "/login/mfa", {
      ip: ownerIp,
      body: { mfaToken: await step(ownerIp), code: codeNow(secret, 1) },
    });
    expect(done.status).toBe(200);
  }, 40_000); // past ten failures on the email every attempt is slowed down (up to 8 s each)

  it("someone else's mfaToken does not accept my code, and a password change kills a pending mfaToken", async () => {
    const victim = await enrolled();
    const attacker = await enrolled();
    const step = await passwordStep(victim.user);
    const res = await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code: codeNow(attacker.secret) } });
    expectFailure(res, 401, "INVALID_MFA_CODE");

    const pending = await passwordStep(victim.user);
    const changed = await api("POST", "/me/password", {
      token: victim.session.accessToken,
      body: {
        currentPassword: victim.user.password,
        newPassword: "a-brand-new-password-7",
        code: codeNow(victim.secret),
      },
    });
    expect(changed.status).toBe(200);
    const late = await api("POST", "/login/mfa", {
      body: { mfaToken: pending.mfaToken, code: codeNow(victim.secret, 1) },
    });
    expectFailure(late, 401, "INVALID_MFA_TOKEN");
  });

  it("parallel guesses on one mfaToken compare at most five codes; parallel right codes sign in once", async () => {
    const { user, secret } = await enrolled();
    const step = await passwordStep(user);
    // 9: under the per-account rate limit of the second step (10 a minute), so only the token's cap decides.
    const guesses = wrongCodes(secret, Date.now(), 9);
    const answers = await Promise.all(
      guesses.map((code) => api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, code } })),
    );
    const codes = answers.map((r) => r.body.error?.code);
    expect(codes.filter((c) => c === "INVALID_MFA_CODE").length).toBeLessThanOrEqual(5);
    expect(codes.every((c) => c === "INVALID_MFA_CODE" || c === "INVALID_MFA_TOKEN" || c === "TOO_MANY_REQUESTS")).toBe(
      true,
    );

    const other = await enrolled();
    const fresh = await passwordStep(other.user);
    const code = codeNow(other.secret);
    const wins = await Promise.all(
      [1, 2, 3].map(() => api("POST", "/login/mfa", { body: { mfaToken: fresh.mfaToken, code } })),
    );
    expect(wins.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("without ENCRYPTION_KEY an account with MFA cannot log in (503 naming it), others still can", async () => {
    const { user } = await enrolled();
    const bindings = { ENCRYPTION_KEY: "" };
    const body = { email: user.email, password: user.password };
    const res = await settled("POST", "/login", { body, bindings });
    expectFailure(res, 503, "MISCONFIGURED");
    expect(res.body.message).toContain("ENCRYPTION_KEY");
    const plain = await registerUser();
    const ok = await settled("POST", "/login", { body: { email: plain.email, password: plain.password }, bindings });
    expect(ok.status).toBe(200);
  });

  it("re-authentication with MFA on needs the code, and a wrong code is 401 INVALID_MFA_CODE", async () => {
    const { session, user, secret } = await enrolled();
    const token = session.accessToken;
    const noCode = await api("POST", "/me/reauthenticate", { token, body: { password: user.password } });
    expect(noCode.status).toBe(400);
    const [wrong] = wrongCodes(secret, Date.now(), 1);
    const bad = await api("POST", "/me/reauthenticate", { token, body: { password: user.password, code: wrong } });
    expectFailure(bad, 401, "INVALID_MFA_CODE");
    const good = await api("POST", "/me/reauthenticate", {
      token,
      body: { password: user.password, code: codeNow(secret) },
    });
    expect(good.status).toBe(200);
    // Now the password alone is not needed for the email, and DELETE /me needs nothing inline.
    const moved = await api("PATCH", "/me", { token, body: { email: `moved_${user.username}@example.com` } });
    expect(moved.status).toBe(200);
    expect((await api("DELETE", "/me", { token, body: {} })).status).toBe(200);
  });
});

describe("step-up (proof of presence)", () => {
  it("every self-action and alias refuses without proof, with 403 REAUTHENTICATION_REQUIRED", async () => {
    const session = await registerVerifiedAndLogin();
    const { accessToken: token, user } = session;
    const newEmail = `moved_${user.username}@example.com`;
    const actions: [string, string, object][] = [
      ["PATCH", "/me", { email: newEmail }],
      ["PUT", `/user/${user.id}`, { username: user.username, email: newEmail }],
      ["PATCH", `/user/${user.id}`, { email: newEmail }],
      ["DELETE", "/me", {}],
      ["DELETE", `/user/${user.id}`, {}],
      ["POST", "/me/mfa/totp", {}],
    ];
    for (const [method, path, body] of actions) {
      expectFailure(await api(method, path, { token, body }), 403, "REAUTHENTICATION_REQUIRED");
    }
  });

  it("with MFA on, every sensitive route and alias refuses a code without a password or recent proof, spending nothing", async () => {
    const { session, user, secret } = await enrolled();
    await setRole(user.id, "admin");
    const token = session.accessToken;
    const code = codeNow(secret);
    const newEmail = `moved_${user.username}@example.com`;
    const actions: [string, string, object][] = [
      ["PATCH", "/me", { email: newEmail, code }],
      ["PUT", `/user/${user.id}`, { username: user.username, email: newEmail, code }],
      ["PATCH", `/user/${user.id}`, { email: newEmail, code }],
      ["DELETE", "/me", { code }],
      ["DELETE", `/user/${user.id}`, { code }],
      ["DELETE", "/me/mfa/totp", { code }],
      ["POST", "/me/mfa/recovery-codes", { code }],
      ["DELETE", `/user/${user.id}/mfa`, { code }],
    ];
    for (const [method, path, body] of actions) {
      const res = await api(method, path, { token, body });
      expect({ path, method, code: res.body.error?.code }).toEqual({ path, method, code: "REAUTHENTICATION_REQUIRED" });
    }
    // The code was never consumed: it still proves presence once.
    const reauth = await api("POST", "/me/reauthenticate", { token, body: { password: user.password, code } });
    expect(reauth.status).toBe(200);
  });

  it("with MFA on, the password alone is not enough; a code or a recent re-authentication is", async () => {
    const { session, user, secret } = await enrolled();
    const token = session.accessToken;
    const change = { currentPassword: user.password, newPassword: "another-strong-pass-42" };
    expectFailure(await api("POST", "/me/password", { token, body: change }), 403, "REAUTHENTICATION_REQUIRED");
    const newEmail = `moved_${user.username}@example.com`;
    const noCode = { email: newEmail, currentPassword: user.password };
    expectFailure(await api("PATCH", "/me", { token, body: noCode }), 403, "REAUTHENTICATION_REQUIRED");
    expectFailure(await api("PATCH", `/user/${user.id}`, { token, body: noCode }), 403, "REAUTHENTICATION_REQUIRED");
    const withCode = await api("PATCH", "/me", { token, body: { ...noCode, code: codeNow(secret) } });
    expect(withCode.status).toBe(200);
    expect(withCode.body.data.user.pendingEmail).toBe(newEmail);
  });

  it("a re-authentication counts on its own session only, and only for STEP_UP_TTL", async () => {
    const session = await registerAndLogin();
    const other = await login(session.user);
    const reauth = await api("POST", "/me/reauthenticate", {
      token: session.accessToken,
      body: { password: session.user.password },
    });
    expect(reauth.status).toBe(200);
    expect(reauth.body.data.stepUpExpiresIn).toBe(300);
    const body = { email: `moved_${session.user.username}@example.com` };
    expectFailure(await api("PATCH", "/me", { token: other.accessToken, body }), 403, "REAUTHENTICATION_REQUIRED");
    // Expired: the proof is older than STEP_UP_TTL.
    const old = new Date(Date.now() - 301_000).toISOString();
    await env.DB.prepare("update sessions set last_proof_at = ? where user_id = ?").bind(old, session.user.id).run();
    expectFailure(await api("PATCH", "/me", { token: session.accessToken, body }), 403, "REAUTHENTICATION_REQUIRED");
    // Fresh again: allowed without inline proof.
    await api("POST", "/me/reauthenticate", { token: session.accessToken, body: { password: session.user.password } });
    expect((await api("PATCH", "/me", { token: session.accessToken, body })).status).toBe(200);
    const wrong = await api("POST", "/me/reauthenticate", {
      token: session.accessToken,
      body: { password: "wrong-password-123" },
    });
    expectFailure(wrong, 401, "INVALID_CREDENTIALS");
  });

  it("turning MFA off needs a code; recovery codes regenerate and the old set dies", async () => {
    const { session, user, secret, recoveryCodes } = await enrolled();
    const token = session.accessToken;
    const regen = await api("POST", "/me/mfa/recovery-codes", {
      token,
      body: { currentPassword: user.password, code: codeNow(secret) },
    });
    expect(regen.status).toBe(200);
    expect(regen.body.data.recoveryCodes).toHaveLength(10);
    const step = await passwordStep(user);
    const old = await api("POST", "/login/mfa", { body: { mfaToken: step.mfaToken, recoveryCode: recoveryCodes[1] } });
    expectFailure(old, 401, "INVALID_MFA_CODE");
    const off = await api("DELETE", "/me/mfa/totp", {
      token,
      body: { currentPassword: user.password, code: codeNow(secret, 1) },
    });
    expect(off.status).toBe(200);
    expect((await api("GET", "/me", { token })).body.data.user.mfaEnabled).toBe(false);
    expect((await login(user)).accessToken).toBeTypeOf("string");
  });
});

describe("administration", () => {
  it("an admin resets a user's MFA: sessions revoked, audited, owner mailed", async () => {
    const { session, user } = await enrolled();
    const admin = await registerUser();
    await setRole(admin.id, "admin");
    const adminSession = await login(admin);
    const res = await settled("DELETE", `/user/${user.id}/mfa`, { token: adminSession.accessToken, body: {} });
    expect(res.status).toBe(200);
    expect((await api("GET", "/me", { token: session.accessToken })).status).toBe(401);
    const audit = await env.DB.prepare("select actor_id from audit_events where action = 'mfa_reset' and target_id = ?")
      .bind(user.id)
      .first<{ actor_id: string }>();
    expect(audit?.actor_id).toBe(admin.id);
    const mail = await waitForEmail(user.email, 3);
    expect(mail.subject).toBe("Two-step sign-in was turned off");
    // A plain user cannot.
    const plain = await registerAndLogin();
    expectFailure(
      await api("DELETE", `/user/${user.id}/mfa`, { token: plain.accessToken, body: {} }),
      403,
      "FORBIDDEN",
    );
  });

  it("REQUIRE_MFA_ROLES: an admin without MFA reaches only /me, enrolment and logout", async () => {
    const admin = await registerUser();
    await setRole(admin.id, "admin");
    await markEmailVerified(admin.id);
    const { accessToken: token } = await login(admin);
    const bindings = { REQUIRE_MFA_ROLES: "admin,moderator" };
    expectFailure(await settled("GET", "/users", { token, bindings }), 403, "MFA_ENROLLMENT_REQUIRED");
    expect((await settled("GET", "/me", { token, bindings })).status).toBe(200);
    const start = await settled("POST", "/me/mfa/totp", { token, bindings, body: { currentPassword: admin.password } });
    expect(start.status).toBe(200);
  });

  it("REQUIRE_MFA_ROLES: an unverified admin without MFA can verify its email, then enrol (no deadlock)", async () => {
    const admin = await registerUser();
    await setRole(admin.id, "admin");
    const { accessToken: token } = await login(admin);
    const bindings = { REQUIRE_MFA_ROLES: "admin,moderator" };
    // Enrolment needs a verified email; verification must not need enrolment.
    const refused = await settled("POST", "/me/mfa/totp", {
      token,
      bindings,
      body: { currentPassword: admin.password },
    });
    expectFailure(refused, 403, "EMAIL_NOT_VERIFIED");
    const link = await waitForToken(admin.email, "/verify-email");
    expect((await settled("POST", "/verify-email", { token, bindings, body: { token: link } })).status).toBe(200);
    const start = await settled("POST", "/me/mfa/totp", { token, bindings, body: { currentPassword: admin.password } });
    expect(start.status).toBe(200);
    expectFailure(await settled("GET", "/users", { token, bindings }), 403, "MFA_ENROLLMENT_REQUIRED");
  });
});
