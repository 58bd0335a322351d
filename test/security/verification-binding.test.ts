import { describe, expect, it } from "vitest";
import {
  type ApiResponse,
  api,
  login,
  markEmailVerified,
  registerAndLogin,
  registerUser,
  type Session,
  STRONG_PASSWORD,
  setRole,
  unique,
  verifyEmail,
} from "../support/api";
import { d1Timing } from "../support/d1-usage";
import { rows, suspendUser } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { waitForToken } from "../support/mailbox";

/**
 * N1, from the attacker's side: a verification link proves the mailbox, and
 * lands only for the person who holds the account. A squatter who registered
 * the owner's address (or moved their own account to it) gets nothing from
 * the owner's click, and nobody's link works with another account's session.
 */
const verifiedAt = async (userId: string) =>
  (await rows("select email_verified_at from users where id = ?", userId))[0]?.email_verified_at ?? null;

const audits = (userId: string, action: string) =>
  rows("select id from audit_events where target_id = ? and action = ?", userId, action);

/** What a client can observe of a refusal: status, code, message, and the D1 work before it. */
const observable = (res: ApiResponse) => ({
  status: res.status,
  code: res.body?.error?.code,
  message: res.body?.message,
  queries: d1Timing(res).queries,
});

/** Someone who has their own, verified account elsewhere (the owner signed in on their usual account). */
async function verifiedElsewhere(): Promise<Session> {
  const user = await registerUser();
  await markEmailVerified(user.id);
  return login(user);
}

/** The attacker moves their own (verified) account to `address`; the confirmation link goes there. */
async function requestMoveTo(attacker: Session, address: string) {
  const res = await api("PATCH", "/me", {
    token: attacker.accessToken,
    body: { email: address, currentPassword: attacker.user.password },
  });
  expect(res.body.data.user.pendingEmail).toBe(address);
  return waitForToken(address, "/verify-email");
}

describe("N1: the registration link of a squatted address", () => {
  it("the owner's click verifies nothing: not without a session, not with the owner's own other account", async () => {
    const owner = `${unique("owner_")}@example.com`;
    const squatter = await registerAndLogin({ email: owner, password: "squatters-choice-pass-1" });
    const token = await waitForToken(owner, "/verify-email");

    expectFailure(await verifyEmail(undefined, token), 401, "UNAUTHORIZED");
    const elsewhere = await verifiedElsewhere();
    const mismatched = await verifyEmail(elsewhere, token);
    expectFailure(mismatched, 400, "INVALID_TOKEN");
    // No oracle: the same answer, after the same D1 work, as a token that does not exist.
    expect(observable(mismatched)).toEqual(observable(await verifyEmail(elsewhere, "x".repeat(43))));

    expect(await verifiedAt(squatter.user.id)).toBeNull();
    expect(await verifiedAt(elsewhere.user.id)).not.toBeNull();
    expect(await audits(squatter.user.id, "email_verified")).toEqual([]);
    // Still never verified, so methods stay refused to the squatter and the owner's reset still takes the account back.
    expectFailure(
      await api("POST", "/me/passkeys/options", {
        token: squatter.accessToken,
        body: { currentPassword: squatter.user.password },
      }),
      403,
      "EMAIL_NOT_VERIFIED",
    );
  });

  it("the squatter cannot use someone else's token with their own session, and does not spend it", async () => {
    const squatter = await registerAndLogin();
    const owner = await registerUser();
    const ownersToken = await waitForToken(owner.email, "/verify-email");
    expectFailure(await verifyEmail(squatter, ownersToken), 400, "INVALID_TOKEN");
    expect(await verifiedAt(owner.id)).toBeNull();
    expect(await verifiedAt(squatter.user.id)).toBeNull();
    // The refusal spent nothing: the owner, signed in, still verifies with it.
    expect((await verifyEmail(await login(owner), ownersToken)).status).toBe(200);
  });

  it("a link issued to an earlier account at the address does not verify the account that has it now", async () => {
    const address = `${unique("reused_")}@example.com`;
    const earlier = await registerUser({ email: address });
    const earlierToken = await waitForToken(address, "/verify-email");
    // An admin moves the earlier account away; someone else registers the freed address.
    await rows("update users set email = ? where id = ?", `${unique("away_")}@example.com`, earlier.id);
    const now = await registerAndLogin({ email: address });
    expectFailure(await verifyEmail(now, earlierToken), 400, "INVALID_TOKEN");
    expect(await verifiedAt(now.user.id)).toBeNull();
  });

  it("the registrant verifies on a fresh device once signed in there", async () => {
    const user = await registerUser();
    const token = await waitForToken(user.email, "/verify-email");
    const fresh = await login(user);
    const verified = await verifyEmail(fresh, token);
    expect(verified.status).toBe(200);
    expect(verified.body.data.user).toMatchObject({ id: user.id, emailVerified: true });
    expect(await audits(user.id, "email_verified")).toHaveLength(1);
    expect((await api("GET", "/me", { token: fresh.accessToken })).status).toBe(200);
  });

  it("one token used in parallel, from one session and from two, verifies exactly once", async () => {
    const user = await registerUser();
    const token = await waitForToken(user.email, "/verify-email");
    const [first, second] = await Promise.all([login(user), login(user)]);
    const results = await Promise.all([first, first, first, second, second].map((s) => verifyEmail(s, token)));
    const statuses = results.map((r) => r.status).sort();
    // The winner verifies; the others either lost the write (400) or came after and found it done (200, no write).
    expect(statuses.filter((s) => s !== 200 && s !== 400)).toEqual([]);
    expect(statuses).toContain(200);
    expect(await audits(user.id, "email_verified")).toHaveLength(1);
    // And replayed afterwards, the token is spent.
    expectFailure(await verifyEmail(first, token), 400, "INVALID_TOKEN");
  });

  it("an ended session's bearer is refused and nothing is written or spent", async () => {
    const session = await registerAndLogin();
    const token = await waitForToken(session.user.email, "/verify-email");
    expect((await api("POST", "/logout", { token: session.accessToken })).status).toBe(200);
    expectFailure(await verifyEmail(session, token), 401, "UNAUTHORIZED");
    expect(await verifiedAt(session.user.id)).toBeNull();
    expect(await audits(session.user.id, "email_verified")).toEqual([]);
    expect((await verifyEmail(await login(session.user), token)).status).toBe(200);
  });

  it("a suspended account's session is refused (403) and nothing is written", async () => {
    const session = await registerAndLogin();
    const token = await waitForToken(session.user.email, "/verify-email");
    await suspendUser(session.user.id);
    expectFailure(await verifyEmail(session, token), 403, "ACCOUNT_SUSPENDED");
    expect(await verifiedAt(session.user.id)).toBeNull();
  });

  it("verifications racing a logout: every 200 verified the account, every refusal left it as it was", async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => registerAndLogin()));
    const tokens = await Promise.all(sessions.map((s) => waitForToken(s.user.email, "/verify-email")));
    const answers = await Promise.all(
      sessions.flatMap((s, i) => [
        verifyEmail(s, tokens[i] ?? ""),
        api("POST", "/logout", { token: s.accessToken }).then(() => null),
      ]),
    );
    for (const [i, s] of sessions.entries()) {
      const answer = answers[i * 2];
      const verified = (await verifiedAt(s.user.id)) !== null;
      expect({ status: answer?.status, verified }).toEqual(
        answer?.status === 200 ? { status: 200, verified: true } : { status: answer?.status, verified: false },
      );
      expect(await audits(s.user.id, "email_verified")).toHaveLength(verified ? 1 : 0);
    }
  });
});

describe("N1, the email-change variant: moving one's account to the victim's address", () => {
  it("the victim's click confirms nothing: not without a session, not with the victim's own account", async () => {
    const attacker = await registerAndLogin();
    await markEmailVerified(attacker.user.id);
    const victimAddress = `${unique("victim_")}@example.com`;
    const token = await requestMoveTo(attacker, victimAddress);

    expectFailure(await verifyEmail(undefined, token), 401, "UNAUTHORIZED");
    const victim = await verifiedElsewhere();
    expectFailure(await verifyEmail(victim, token), 400, "INVALID_TOKEN");

    const [row] = await rows("select email, pending_email from users where id = ?", attacker.user.id);
    expect(row).toEqual({ email: attacker.user.email, pending_email: victimAddress });
    expect(await audits(attacker.user.id, "email_change")).toEqual([]);
    // The victim may still register the address: nobody owns it.
    expect(
      (
        await api("POST", "/register", {
          body: { username: unique("v_"), email: victimAddress, password: STRONG_PASSWORD },
        })
      ).status,
    ).toBe(201);
  });

  it("the account's own session confirms it, once, even in parallel", async () => {
    const session = await registerAndLogin();
    await markEmailVerified(session.user.id);
    const address = `${unique("moved_")}@example.com`;
    const token = await requestMoveTo(session, address);
    const results = await Promise.all(Array.from({ length: 4 }, () => verifyEmail(session, token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results) if (r.status !== 200) expectFailure(r, 400, "INVALID_TOKEN");
    const [row] = await rows("select email, pending_email from users where id = ?", session.user.id);
    expect(row).toEqual({ email: address, pending_email: null });
    expect(await audits(session.user.id, "email_change")).toHaveLength(1);
  });

  it("an ended session cannot confirm, and the change stays pending", async () => {
    const session = await registerAndLogin();
    await markEmailVerified(session.user.id);
    const address = `${unique("moved_")}@example.com`;
    const token = await requestMoveTo(session, address);
    expect((await api("POST", "/logout", { token: session.accessToken })).status).toBe(200);
    expectFailure(await verifyEmail(session, token), 401, "UNAUTHORIZED");
    const [row] = await rows("select email, pending_email from users where id = ?", session.user.id);
    expect(row).toEqual({ email: session.user.email, pending_email: address });
  });
});

describe("an email set by an admin", () => {
  it("is verified by the account's holder, signed in, with the link mailed to it; not by the admin", async () => {
    const admin = await verifiedElsewhere();
    await setRole(admin.user.id, "admin");
    const user = await registerAndLogin();
    await markEmailVerified(user.user.id);
    const address = `${unique("set_")}@example.com`;
    const changed = await api("PATCH", `/user/${user.user.id}`, { token: admin.accessToken, body: { email: address } });
    expect(changed.status).toBe(200);
    const token = await waitForToken(address, "/verify-email");
    expectFailure(await verifyEmail(admin, token), 400, "INVALID_TOKEN");
    expect(await verifiedAt(user.user.id)).toBeNull();
    const verified = await verifyEmail(user, token);
    expect(verified.body.data.user).toMatchObject({ email: address, emailVerified: true });
  });
});
