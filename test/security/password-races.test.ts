import { env } from "cloudflare:workers";
import { hash } from "bcrypt-ts";
import { describe, expect, it } from "vitest";
import { api, login, randomIp, registerUser, setRole, type TestUser } from "../support/api";
import { deleteUserRow, rows } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { emailsTo, tokenFrom } from "../support/mailbox";

/*
 * Check-then-write races (issue #11, item 3). A login compares bcrypt for a
 * while, then writes (session, rehash, failure counters, audit); a reset,
 * a password change or a deletion landing in between must win: the login
 * writes nothing and answers 401, never 500. To make the window wide, the
 * account's hash is made at cost 12 (the Worker runs at 4), so the login's
 * compare takes hundreds of milliseconds and the other request, started 60 ms
 * later, lands inside it. Whatever the interleaving, the assertions are the
 * invariants: the reset or change holds, and no session outlives it.
 */

const NEW_PASSWORD = "brand-new-staple-orbit-42";
const SLOW_COST = 12;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const loginAs = (email: string, password: string) =>
  api("POST", "/login", { body: { email, password }, ip: randomIp() });

/** The account's password, re-hashed at a cost high enough that its compare is slow. */
async function withSlowHash(user: TestUser) {
  await env.DB.prepare("update users set password_hash = ? where id = ?")
    .bind(await hash(user.password, SLOW_COST), user.id)
    .run();
}

async function resetToken(user: TestUser) {
  expect((await api("POST", "/forgot-password", { body: { email: user.email } })).status).toBe(200);
  for (let i = 0; i < 200; i++) {
    const mail = (await emailsTo(user.email)).find((m) => m.text.includes("reset-password?token="));
    if (mail) return tokenFrom(mail);
    await pause(25);
  }
  throw new Error("no reset email");
}

const liveSessions = async (userId: string) =>
  (await rows("select id from sessions where user_id = ? and revoked_at is null", userId)).length;

/** A login that answered 200 must hold a dead token afterwards; any other answer must be 401. */
async function expectNoSurvivingSession(res: Awaited<ReturnType<typeof loginAs>>) {
  if (res.status === 200) {
    expectFailure(await api("GET", "/me", { token: res.body.data.accessToken }), 401, "UNAUTHORIZED");
  } else {
    expectFailure(res, 401, "INVALID_CREDENTIALS");
  }
}

describe("a login racing another write to the account", { timeout: 30_000 }, () => {
  it("cannot undo a password reset or keep a session past it", async () => {
    const user = await registerUser();
    await withSlowHash(user);
    const token = await resetToken(user);
    const racing = loginAs(user.email, user.password);
    await pause(60);
    expect((await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } })).status).toBe(200);
    await expectNoSurvivingSession(await racing);

    expectFailure(await loginAs(user.email, user.password), 401, "INVALID_CREDENTIALS");
    expect(await liveSessions(user.id)).toBe(0);
    expect((await loginAs(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  it("answers 401, not 500, when the account is deleted meanwhile, and writes nothing", async () => {
    const user = await registerUser();
    await withSlowHash(user);
    const racing = loginAs(user.email, user.password);
    await pause(60);
    await deleteUserRow(user.id);
    expectFailure(await racing, 401, "INVALID_CREDENTIALS");
    expect(await rows("select id from sessions where user_id = ?", user.id)).toEqual([]);
    expect(await rows("select id from audit_events where action = 'login_success' and target_id = ?", user.id)).toEqual(
      [],
    );
  });

  it("cannot undo a password change or keep a session past it", async () => {
    const user = await registerUser();
    const session = await login(user);
    await withSlowHash(user);
    const racing = loginAs(user.email, user.password);
    await pause(60);
    const change = await api("POST", "/me/password", {
      token: session.accessToken,
      body: { currentPassword: user.password, newPassword: NEW_PASSWORD },
    });
    const raced = await racing;
    if (change.status === 200) {
      await expectNoSurvivingSession(raced);
      expectFailure(await loginAs(user.email, user.password), 401, "INVALID_CREDENTIALS");
      expect((await loginAs(user.email, NEW_PASSWORD)).status).toBe(200);
    } else {
      // The login's rehash landed first, so the change's proof went stale: it changed nothing.
      expectFailure(change, 401, "INVALID_CREDENTIALS");
      expect((await loginAs(user.email, user.password)).status).toBe(200);
    }
  });

  it("answers 401 when the account is suspended meanwhile, and creates no session", async () => {
    const user = await registerUser();
    await withSlowHash(user);
    const racing = loginAs(user.email, user.password);
    await pause(60);
    await env.DB.prepare("update users set status = 'suspended' where id = ?").bind(user.id).run();
    const res = await racing;
    expect(res.status === 401 || res.status === 403).toBe(true);
    expect(await liveSessions(user.id)).toBe(0);
    // Its cost-12 hash would make every later unknown-email login in this file compare at cost 12.
    await deleteUserRow(user.id);
  });
});

describe("DELETE /me racing a password reset", { timeout: 30_000 }, () => {
  it("does not delete the account with a password the reset just replaced", async () => {
    const user = await registerUser();
    const session = await login(user);
    await withSlowHash(user);
    const token = await resetToken(user);
    const deleting = api("DELETE", "/me", { token: session.accessToken, body: { password: user.password } });
    await pause(60);
    expect((await api("POST", "/reset-password", { body: { token, password: NEW_PASSWORD } })).status).toBe(200);
    const res = await deleting;
    // The reset revoked the session: either the guard or the stale proof refuses; the account stays.
    expect(res.status).toBe(401);
    expect((await rows("select id from users where id = ?", user.id)).length).toBe(1);
    expect((await loginAs(user.email, NEW_PASSWORD)).status).toBe(200);
  });
});

describe("an admin's write racing that admin's suspension", () => {
  it("never lands after the suspension it raced (checked in the audit trail's insertion order)", async () => {
    for (let round = 0; round < 5; round++) {
      const [actor, other, target] = await Promise.all([registerUser(), registerUser(), registerUser()]);
      const [a, b] = await Promise.all([login(actor), login(other)]);
      await Promise.all([setRole(actor.id, "admin"), setRole(other.id, "admin")]);
      const [promote, suspend] = await Promise.all([
        api("PATCH", `/user/${target.id}`, { token: a.accessToken, body: { role: "moderator" } }),
        api("PATCH", `/user/${actor.id}`, { token: b.accessToken, body: { status: "suspended" } }),
      ]);
      expect(suspend.status).toBe(200);
      expect([200, 401, 403]).toContain(promote.status);
      const order = await rows(
        "select rowid, action, target_id from audit_events where target_id in (?, ?) and action in ('role_change', 'status_change') order by rowid",
        target.id,
        actor.id,
      );
      const suspendedAt = order.findIndex((e) => e.action === "status_change");
      const promotedAt = order.findIndex((e) => e.action === "role_change");
      expect(promote.status === 200).toBe(promotedAt !== -1);
      if (promotedAt !== -1) expect(promotedAt).toBeLessThan(suspendedAt);
      const [row] = await rows("select role from users where id = ?", target.id);
      expect(row?.role).toBe(promote.status === 200 ? "moderator" : "user");
    }
  });
});
