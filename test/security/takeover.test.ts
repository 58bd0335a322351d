import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { emailTokenKey } from "../../src/auth/email-tokens";
import { api, registerAndLogin, registerUser, type Session, unique, verifyEmail } from "../support/api";
import { suspendUser } from "../support/db";
import { detailPaths, expectFailure } from "../support/expect-failure";
import { emailsTo, tokenFrom, waitForEmail, waitForToken } from "../support/mailbox";
import { signedInAs } from "../support/roles";

/** Issue #11: what a stolen access token (and nothing else) must not be able to do to an account. */

const NEW_PASSWORD = "new-staple-orbit-42";
const freshEmail = () => `${unique("new_")}@example.com`;

const userRow = (id: string) =>
  env.DB.prepare("select email, pending_email, password_hash, email_verified_at, status from users where id = ?")
    .bind(id)
    .first<{ email: string; pending_email: string | null; password_hash: string; email_verified_at: string | null }>();

const auditRows = async (targetId: string, action: string) =>
  (
    await env.DB.prepare("select actor_id, details from audit_events where target_id = ? and action = ?")
      .bind(targetId, action)
      .all<{ actor_id: string; details: string }>()
  ).results;

/** Every route that can change one's own email, as (session, body) => response. */
const OWN_EMAIL_ROUTES = [
  ["PATCH /me", (s: Session, body: object) => api("PATCH", "/me", { token: s.accessToken, body })],
  [
    "PATCH /user/:ownId",
    (s: Session, body: object) => api("PATCH", `/user/${s.user.id}`, { token: s.accessToken, body }),
  ],
  [
    "PUT /user/:ownId",
    (s: Session, body: object) =>
      api("PUT", `/user/${s.user.id}`, { token: s.accessToken, body: { username: s.user.username, ...body } }),
  ],
] as const;

const requestChange = (s: Session, email: string) =>
  api("PATCH", "/me", { token: s.accessToken, body: { email, currentPassword: s.user.password } });

const forgot = (email: string) => api("POST", "/forgot-password", { body: { email } });
const reset = (token: string) => api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } });
/** The account's own session confirms (N1). */
const verify = (s: Session, token: string) => verifyEmail(s, token);

describe("changing one's own email with a stolen access token", () => {
  it.each(OWN_EMAIL_ROUTES)(
    "%s needs currentPassword: missing is 403 REAUTHENTICATION_REQUIRED, wrong is 401, and nothing changes",
    async (_, send) => {
      const s = await registerAndLogin();
      const attacker = freshEmail();
      const missing = await send(s, { email: attacker });
      expectFailure(missing, 403, "REAUTHENTICATION_REQUIRED");
      expectFailure(
        await send(s, { email: attacker, currentPassword: "not-the-password-1" }),
        401,
        "INVALID_CREDENTIALS",
      );
      expect(await userRow(s.user.id)).toMatchObject({ email: s.user.email, pending_email: null });
      expect(await auditRows(s.user.id, "email_change_request")).toEqual([]);
      // Give any waitUntil mail a moment: none may go to the attacker's address.
      await new Promise((r) => setTimeout(r, 100));
      expect(await emailsTo(attacker)).toEqual([]);
    },
  );

  it.each(OWN_EMAIL_ROUTES)("%s with the password only makes the change pending", async (_, send) => {
    const s = await registerAndLogin();
    const next = freshEmail();
    const res = await send(s, { email: next, currentPassword: s.user.password });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ email: s.user.email, pendingEmail: next });
    expect(await userRow(s.user.id)).toMatchObject({ email: s.user.email, pending_email: next });
    const [event] = await auditRows(s.user.id, "email_change_request");
    expect(JSON.parse(event!.details)).toEqual({ from: s.user.email, to: next });
  });

  it("keeps login, password resets and mail with the current address until the new one is confirmed", async () => {
    const s = await registerAndLogin();
    const next = freshEmail();
    expect((await requestChange(s, next)).status).toBe(200);

    const confirmation = await waitForEmail(next);
    expect(confirmation.subject).toBe("Confirm your new email address");
    // The old address is told, with no way back in and nothing the requester wrote.
    const notice = await waitForEmail(s.user.email, 2);
    expect(notice.subject).toBe("A change of your email address was requested");
    expect(notice.text).not.toMatch(/token=|https?:\/\//);
    expect(notice.text).not.toContain(next);

    expectFailure(
      await api("POST", "/login", { body: { email: next, password: s.user.password } }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect((await api("POST", "/login", { body: { email: s.user.email, password: s.user.password } })).status).toBe(
      200,
    );
    expect((await forgot(next)).status).toBe(200);
    expect((await forgot(s.user.email)).status).toBe(200);
    const resetMail = await waitForEmail(s.user.email, 3);
    expect(resetMail.subject).toBe("Reset your password");
    await new Promise((r) => setTimeout(r, 100));
    expect(await emailsTo(next)).toHaveLength(1); // only the confirmation link
  });

  it("swaps the address on confirmation, tells the old one, and kills a reset link mailed to it before", async () => {
    const s = await registerAndLogin();
    expect((await forgot(s.user.email)).status).toBe(200);
    const resetToken = await waitForToken(s.user.email, "/reset-password");
    const next = freshEmail();
    await requestChange(s, next);

    const confirmed = await verify(s, tokenFrom(await waitForEmail(next)));
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.data.user).toMatchObject({ email: next, pendingEmail: null, emailVerified: true });
    const done = await waitForEmail(s.user.email, 4); // registration, reset, request notice, this
    expect(done.subject).toBe("Your email address was changed");
    expect(done.text).not.toMatch(/token=/);
    const [event] = await auditRows(s.user.id, "email_change");
    expect(JSON.parse(event!.details)).toEqual({ from: s.user.email, to: next });

    expectFailure(await reset(resetToken), 400, "INVALID_TOKEN");
    expect((await userRow(s.user.id))?.password_hash).toMatch(/^\$2/);
    expect((await api("POST", "/login", { body: { email: next, password: s.user.password } })).status).toBe(200);
  });

  it("kills a reset link when an admin changes the email too", async () => {
    const [admin, s] = await Promise.all([signedInAs("admin"), registerAndLogin()]);
    await forgot(s.user.email);
    const resetToken = await waitForToken(s.user.email, "/reset-password");
    const res = await api("PATCH", `/user/${s.user.id}`, { token: admin.accessToken, body: { email: freshEmail() } });
    expect(res.status).toBe(200);
    expectFailure(await reset(resetToken), 400, "INVALID_TOKEN");
  });

  it("lets exactly one of two parallel confirmations through, and a replay fails", async () => {
    const s = await registerAndLogin();
    const next = freshEmail();
    await requestChange(s, next);
    const token = tokenFrom(await waitForEmail(next));
    const results = await Promise.all([verify(s, token), verify(s, token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expectFailure(await verify(s, token), 400, "INVALID_TOKEN");
    expect((await auditRows(s.user.id, "email_change")).length).toBe(1);
  });

  it("makes an older confirmation link useless once a newer change is requested", async () => {
    const s = await registerAndLogin();
    const [first, second] = [freshEmail(), freshEmail()];
    await requestChange(s, first);
    const firstToken = tokenFrom(await waitForEmail(first));
    await requestChange(s, second);
    expectFailure(await verify(s, firstToken), 400, "INVALID_TOKEN");
    expect(await userRow(s.user.id)).toMatchObject({ email: s.user.email, pending_email: second });
  });

  it("cancels a pending change with DELETE /me/pending-email, and its link dies", async () => {
    const s = await registerAndLogin();
    const next = freshEmail();
    await requestChange(s, next);
    const token = tokenFrom(await waitForEmail(next));
    const cancelled = await api("DELETE", "/me/pending-email", { token: s.accessToken });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data.user).toMatchObject({ email: s.user.email, pendingEmail: null });
    expectFailure(await verify(s, token), 400, "INVALID_TOKEN");
    expectFailure(await api("DELETE", "/me/pending-email", { token: s.accessToken }), 404, "NOT_FOUND");
    expectFailure(await api("DELETE", "/me/pending-email"), 401, "UNAUTHORIZED");
    expect(await userRow(s.user.id)).toMatchObject({ email: s.user.email, pending_email: null });
  });

  it("lets a pending change lapse with its token", async () => {
    const [admin, s] = await Promise.all([signedInAs("admin"), registerAndLogin()]);
    const next = freshEmail();
    await requestChange(s, next);
    const token = tokenFrom(await waitForEmail(next));
    await env.DB.prepare("update users set pending_email_expires_at = '2000-01-01T00:00:00.000Z' where id = ?")
      .bind(s.user.id)
      .run();
    const seen = await api("GET", `/user/${s.user.id}`, { token: admin.accessToken });
    expect(seen.body.data.user.pendingEmail).toBeNull();
    expectFailure(await verify(s, token), 400, "INVALID_TOKEN");
    expect(await userRow(s.user.id)).toMatchObject({ email: s.user.email });
  });

  it("answers 409 and changes nothing when another account took the address before confirmation", async () => {
    const s = await registerAndLogin();
    const next = freshEmail();
    await requestChange(s, next);
    const token = tokenFrom(await waitForEmail(next));
    await registerUser({ email: next });
    const res = await verify(s, token);
    expectFailure(res, 409, "CONFLICT");
    expect(detailPaths(res)).toEqual(["email"]);
    expect(await userRow(s.user.id)).toMatchObject({ email: s.user.email, pending_email: next });
    expect(await auditRows(s.user.id, "email_change")).toEqual([]);
  });

  it("refuses at once an address another account already uses", async () => {
    const [s, other] = await Promise.all([registerAndLogin(), registerUser()]);
    expectFailure(await requestChange(s, other.email), 409, "CONFLICT");
    expect(await userRow(s.user.id)).toMatchObject({ pending_email: null });
  });
});

describe("pre-account takeover: whoever registered the address first sets a pending change", () => {
  /** The squatter registers the victim's address and asks to move the account to their own mailbox. */
  async function squat() {
    const squatter = await registerAndLogin();
    const drop = freshEmail();
    expect((await requestChange(squatter, drop)).status).toBe(200);
    const dropToken = tokenFrom(await waitForEmail(drop));
    return { squatter, drop, dropToken };
  }

  it.each([
    [
      "a password reset by the mailbox owner",
      async (s: Session) => {
        await forgot(s.user.email);
        expect((await reset(await waitForToken(s.user.email, "/reset-password"))).status).toBe(200);
      },
    ],
    [
      "verifying the current address",
      async (s: Session) => {
        expect((await verify(s, await waitForToken(s.user.email, "/verify-email"))).status).toBe(200);
      },
    ],
    [
      "a password change",
      async (s: Session) => {
        const body = { currentPassword: s.user.password, newPassword: NEW_PASSWORD };
        expect((await api("POST", "/me/password", { token: s.accessToken, body })).status).toBe(200);
      },
    ],
    [
      "signing out everywhere",
      async (s: Session) => {
        expect((await api("POST", "/logout", { token: s.accessToken, body: { all: true } })).status).toBe(200);
      },
    ],
  ])("cancels it with %s, so its link can no longer move the account", async (_, ownerActs) => {
    const { squatter, drop, dropToken } = await squat();
    await ownerActs(squatter);
    // Where the act ended the squatter's session, the link needs a session it no longer has (N1); else it is dead.
    const live = (await api("GET", "/me", { token: squatter.accessToken })).status === 200;
    if (live) expectFailure(await verify(squatter, dropToken), 400, "INVALID_TOKEN");
    else expectFailure(await verify(squatter, dropToken), 401, "UNAUTHORIZED");
    expect(await userRow(squatter.user.id)).toMatchObject({ email: squatter.user.email, pending_email: null });
    expect((await emailsTo(drop)).length).toBe(1);
  });
});

describe("mail to addresses nobody has proven carries no user-chosen text", () => {
  it("greets a victim whose address was registered by someone else without the chosen username", async () => {
    const victim = freshEmail();
    await registerUser({ username: "evil-login.example.com", email: victim });
    const mail = await waitForEmail(victim);
    expect(`${mail.subject}\n${mail.text}\n${mail.html}`).not.toMatch(/evil-/);
  });

  it("sends the confirmation of an email change without the username or the current address", async () => {
    const s = await registerAndLogin({ username: unique("lure.example.com_") });
    const next = freshEmail();
    await requestChange(s, next);
    const mail = await waitForEmail(next);
    const all = `${mail.subject}\n${mail.text}\n${mail.html}`;
    expect(all).not.toContain(s.user.username);
    expect(all).not.toContain(s.user.email);
  });

  it("sends reset links without the username", async () => {
    const s = await registerAndLogin({ username: unique("lure.example.com_") });
    await forgot(s.user.email);
    const mail = await waitForEmail(s.user.email, 2);
    expect(`${mail.text}\n${mail.html}`).not.toContain(s.user.username);
  });
});

describe("password reset of a suspended account", () => {
  it("answers forgot-password the same but mails nothing", async () => {
    const [active, suspended] = await Promise.all([registerUser(), registerUser()]);
    await suspendUser(suspended.id);
    const [a, b] = await Promise.all([forgot(active.email), forgot(suspended.email)]);
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
    await waitForEmail(active.email, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(await emailsTo(suspended.email)).toHaveLength(1); // the registration verification only
  });

  it("refuses a reset link with 403 ACCOUNT_SUSPENDED and leaves the account unchanged", async () => {
    const user = await registerUser();
    await forgot(user.email);
    const token = await waitForToken(user.email, "/reset-password");
    const before = await userRow(user.id);
    await suspendUser(user.id);
    expectFailure(await reset(token), 403, "ACCOUNT_SUSPENDED");
    expect(await userRow(user.id)).toEqual({ ...before, status: "suspended" });
    expect(await auditRows(user.id, "password_reset")).toEqual([]);
  });
});

describe("reset tokens are single use in storage", () => {
  it("deletes the token from KV once the password is reset", async () => {
    const user = await registerUser();
    await forgot(user.email);
    const token = await waitForToken(user.email, "/reset-password");
    const key = await emailTokenKey("reset", token);
    expect(await env.KV.get(key)).not.toBeNull();
    expect((await reset(token)).status).toBe(200);
    // The hash binding alone would refuse a replay; the record itself must be gone too.
    expect(await env.KV.get(key)).toBeNull();
  });
});
