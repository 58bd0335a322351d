import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, PUBLIC_USER_KEYS, registerAndLogin, registerVerifiedAndLogin, type Session } from "../support/api";
import type { CapturedEmail } from "../support/email-types";
import { expectFailure, expectUnauthorized } from "../support/expect-failure";
import { emailsTo, waitForToken } from "../support/mailbox";
import { codeNow, enrolled } from "../support/mfa-api";
import { sessionIdOf } from "../support/sessions";
import { settled } from "../support/settled";

// L2: the owner's password change on a session whose refresh token was stolen must end the thief's copy too.

const NEW_PASSWORD = "fresh-lantern-canyon-58";
const NOTICE = "Your password was changed";

const me = (tokens: { accessToken: string }) => api("GET", "/me", { token: tokens.accessToken });
const refresh = (refreshToken: string) => api("POST", "/refresh", { body: { refreshToken } });
const changePassword = (token: string, body: Record<string, unknown>) => api("POST", "/me/password", { token, body });

/** The owner's tokens (A1, R) and the thief's (A2, R2): one session, the thief refreshed its stolen refresh token. */
async function stolenSession(owner: Session) {
  const thief = await refresh(owner.refreshToken);
  expect(thief.status).toBe(200);
  const stolen = { accessToken: thief.body.data.accessToken, refreshToken: thief.body.data.refreshToken };
  expect(sessionIdOf(stolen)).toBe(sessionIdOf(owner));
  return stolen;
}

const liveSessionsOf = async (userId: string) =>
  (
    await env.DB.prepare("select id, amr from sessions where user_id = ? and revoked_at is null")
      .bind(userId)
      .all<{ id: string; amr: string }>()
  ).results;

/** Waits for the password-changed notice to an address (mail goes out after the response, in any order). */
async function waitForNotice(address: string, timeoutMs = 5000): Promise<CapturedEmail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const notice = (await emailsTo(address)).find((m) => m.subject === NOTICE);
    if (notice) return notice;
    if (Date.now() > deadline) throw new Error(`no "${NOTICE}" mail to ${address}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function expectNoSecrets(mail: CapturedEmail, secrets: string[]) {
  for (const body of [mail.text, mail.html, mail.subject]) {
    expect(body).not.toMatch(/token=/i);
    for (const secret of secrets) expect(body).not.toContain(secret);
  }
}

describe("POST /me/password rotates the caller's session (L2)", () => {
  it("cuts off a thief who refreshed the same session: his access and refresh tokens die at once", async () => {
    const owner = await registerAndLogin();
    const thief = await stolenSession(owner);
    expect((await me(thief)).status).toBe(200);

    const res = await changePassword(owner.accessToken, {
      currentPassword: owner.user.password,
      newPassword: NEW_PASSWORD,
    });
    expect(res.status).toBe(200);

    expectUnauthorized(await me(thief));
    expectFailure(await refresh(thief.refreshToken), 401, "INVALID_REFRESH_TOKEN");
    expectUnauthorized(await me(owner));
    expectFailure(await refresh(owner.refreshToken), 401, "INVALID_REFRESH_TOKEN");
    // Only the caller's new session is left.
    expect((await liveSessionsOf(owner.user.id)).map((s) => s.id)).toEqual([sessionIdOf(res.body.data)]);
  });

  it("answers with a new token pair shaped like the login answer, on a new session, whose tokens work", async () => {
    const owner = await registerAndLogin();
    const other = await api("POST", "/login", { body: { email: owner.user.email, password: owner.user.password } });
    const res = await changePassword(owner.accessToken, {
      currentPassword: owner.user.password,
      newPassword: NEW_PASSWORD,
    });
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(Object.keys(data).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "tokenType", "user"]);
    expect(data.tokenType).toBe("Bearer");
    expect(data.expiresIn).toBeGreaterThan(0);
    expect(Object.keys(data.user).sort()).toEqual(PUBLIC_USER_KEYS);
    expect(data.user.id).toBe(owner.user.id);
    expect(sessionIdOf(data)).not.toBe(sessionIdOf(owner));
    expect(data.refreshToken.startsWith(`${sessionIdOf(data)}.`)).toBe(true);

    expect((await me(data)).status).toBe(200);
    expectUnauthorized(await me(other.body.data));
    const next = await refresh(data.refreshToken);
    expect(next.status).toBe(200);
    expect((await me(next.body.data)).status).toBe(200);
    // The old refresh token is refused, and presenting it harms nothing of the new session.
    expectFailure(await refresh(owner.refreshToken), 401, "INVALID_REFRESH_TOKEN");
    expect((await me(next.body.data)).status).toBe(200);
    // The new password signs in, the old one does not.
    expect((await api("POST", "/login", { body: { email: owner.user.email, password: NEW_PASSWORD } })).status).toBe(
      200,
    );
  });

  it("stores what the proof showed as the new session's amr: pwd, plus otp when a code was checked", async () => {
    const plain = await registerAndLogin();
    const res = await changePassword(plain.accessToken, {
      currentPassword: plain.user.password,
      newPassword: NEW_PASSWORD,
    });
    expect(res.status).toBe(200);
    expect(await liveSessionsOf(plain.user.id)).toEqual([{ id: sessionIdOf(res.body.data), amr: "pwd" }]);

    const mfa = await enrolled();
    const withCode = await changePassword(mfa.session.accessToken, {
      currentPassword: mfa.user.password,
      newPassword: NEW_PASSWORD,
      code: codeNow(mfa.secret),
    });
    expect(withCode.status).toBe(200);
    expect(await liveSessionsOf(mfa.user.id)).toEqual([{ id: sessionIdOf(withCode.body.data), amr: "pwd,otp" }]);
  });

  it("rotates nothing on a wrong current password: every token of the session still works, no notice", async () => {
    const owner = await registerVerifiedAndLogin();
    const thief = await stolenSession(owner);
    const wrong = await settled("POST", "/me/password", {
      token: owner.accessToken,
      body: { currentPassword: "not-the-password-77", newPassword: NEW_PASSWORD },
    });
    expectFailure(wrong, 401, "INVALID_CREDENTIALS");
    expect(await liveSessionsOf(owner.user.id)).toHaveLength(1);
    expect((await me(owner)).status).toBe(200);
    expect((await me(thief)).status).toBe(200);
    expect((await refresh(thief.refreshToken)).status).toBe(200);
    expect((await emailsTo(owner.user.email)).filter((m) => m.subject === NOTICE)).toHaveLength(0);
  });

  it("of two parallel changes on one session exactly one applies and leaves exactly one live session", async () => {
    const owner = await registerAndLogin();
    const thief = await stolenSession(owner);
    const body = { currentPassword: owner.user.password, newPassword: NEW_PASSWORD };
    const results = await Promise.all([
      changePassword(owner.accessToken, body),
      changePassword(thief.accessToken, { ...body, newPassword: "thief-chosen-phrase-31" }),
      refresh(thief.refreshToken),
      changePassword(owner.accessToken, body),
    ]);
    const changes = [results[0], results[1], results[3]];
    const won = changes.filter((r) => r?.status === 200);
    expect(won).toHaveLength(1);
    const winner = won[0]?.body.data;
    expect(await liveSessionsOf(owner.user.id)).toEqual([{ id: sessionIdOf(winner), amr: "pwd" }]);
    // Whatever the thief's refresh got in the race is dead now.
    const raced = results[2]?.body.data;
    if (raced) {
      expectUnauthorized(await me(raced));
      expectFailure(await refresh(raced.refreshToken), 401, "INVALID_REFRESH_TOKEN");
    }
    expect((await me(winner)).status).toBe(200);
  });
});

describe("password-changed notice mail", () => {
  it("tells the account's address after POST /me/password: when, where to reset, no token or password", async () => {
    const owner = await registerAndLogin();
    const res = await changePassword(owner.accessToken, {
      currentPassword: owner.user.password,
      newPassword: NEW_PASSWORD,
    });
    expect(res.status).toBe(200);
    const notice = await waitForNotice(owner.user.email);
    expect(notice.text).toMatch(/changed on \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(notice.text).toContain("If this was not you, reset your password now");
    expect(notice.text).toContain(`${env.APP_URL}/`);
    expectNoSecrets(notice, [
      owner.user.password,
      NEW_PASSWORD,
      res.body.data.accessToken,
      res.body.data.refreshToken,
      owner.refreshToken,
    ]);
  });

  it("tells the account's address after POST /reset-password, without the reset token", async () => {
    const owner = await registerVerifiedAndLogin();
    expect((await api("POST", "/forgot-password", { body: { email: owner.user.email } })).status).toBe(200);
    const token = await waitForToken(owner.user.email, "/reset-password");
    expect((await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } })).status).toBe(200);
    const notice = await waitForNotice(owner.user.email);
    expect(notice.text).toContain("If this was not you, reset your password now");
    expectNoSecrets(notice, [token, owner.user.password, NEW_PASSWORD]);
  });
});
