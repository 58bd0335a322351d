import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { issueEmailCode, verifyEmailCode } from "../src/auth/email-code/codes";
import type { EmailCodeDeps } from "../src/auth/email-code/deps";
import { listPasskeys } from "../src/auth/passkeys/manage";
import { NO_PASSWORD } from "../src/auth/sign-in-methods";
import { takeBackAccount } from "../src/auth/take-back";
import { sha256Hex } from "../src/auth/tokens";
import { createDb } from "../src/db/client";
import { api, login, registerUser, unique } from "./support/api";
import { rows, userRowByEmail } from "./support/db";
import { passkeyDeps, withPasskey } from "./support/passkeys";

/** Service dependencies over the real D1, with a clock the test moves. */
function codeDeps() {
  let now = Date.now();
  const deps: EmailCodeDeps & { now: () => number } = { db: createDb(env.DB), secret: env.JWT_SECRET, now: () => now };
  return { deps, advance: (ms: number) => (now += ms) };
}

/** A six-digit code that is not `code`. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("issuing email login codes", () => {
  it("makes a six-digit code for an account and keeps only a keyed hash of it", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const issued = await issueEmailCode(deps, user.email);
    expect(issued).toEqual({ code: expect.stringMatching(/^\d{6}$/), userId: user.id, expiresIn: 600 });
    const stored = await rows("select * from email_login_codes where user_id = ?", user.id);
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(issued.code);
    expect(JSON.stringify(stored)).not.toContain(user.email);
  });

  it("does the same work for an unknown address: a row, and no account behind it", async () => {
    const { deps } = codeDeps();
    const email = `${unique("nobody_")}@example.com`;
    const issued = await issueEmailCode(deps, email);
    expect(issued).toEqual({ code: expect.stringMatching(/^\d{6}$/), userId: null, expiresIn: 600 });
    expect(
      await rows("select user_id, attempts from email_login_codes where email_hash = ?", await sha256Hex(email)),
    ).toEqual([{ user_id: null, attempts: 0 }]);
    // Even the code itself (never mailed) signs in to nothing.
    expect(await verifyEmailCode(deps, email, issued.code)).toEqual({
      ok: false,
      reason: "invalid_code",
      attemptsLeft: 4,
    });
  });

  it("keeps leading zeros and varies the code", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const codes = new Set<string>();
    for (let i = 0; i < 30; i++) codes.add((await issueEmailCode(deps, user.email)).code);
    expect(codes.size).toBeGreaterThan(25);
    for (const c of codes) expect(c).toMatch(/^\d{6}$/);
  });
});

describe("verifying email login codes", () => {
  it("accepts the right code once, whatever the case and spacing of the address", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const { code } = await issueEmailCode(deps, ` ${user.email.toUpperCase()} `);
    expect(await verifyEmailCode(deps, user.email, code)).toEqual({ ok: true, userId: user.id });
    expect(await verifyEmailCode(deps, user.email, code)).toEqual({ ok: false, reason: "no_code" });
  });

  it("counts wrong and malformed codes, and after five attempts the right one is dead", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const { code } = await issueEmailCode(deps, user.email);
    const attempts = [wrong(code), "12345", "abcdef", ` ${code}`, wrong(wrong(code))];
    for (const [i, attempt] of attempts.entries())
      expect(await verifyEmailCode(deps, user.email, attempt)).toEqual({
        ok: false,
        reason: "invalid_code",
        attemptsLeft: 4 - i,
      });
    expect(await verifyEmailCode(deps, user.email, code)).toEqual({ ok: false, reason: "no_code" });
  });

  it("compares at most five of any number of parallel guesses", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const { code } = await issueEmailCode(deps, user.email);
    const guesses = await Promise.all(Array.from({ length: 20 }, () => verifyEmailCode(deps, user.email, wrong(code))));
    expect(guesses.filter((g) => !g.ok && g.reason === "invalid_code")).toHaveLength(5);
    expect(guesses.filter((g) => !g.ok && g.reason === "no_code")).toHaveLength(15);
  });

  it("lets exactly one of parallel right answers sign in", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const { code } = await issueEmailCode(deps, user.email);
    const results = await Promise.all(Array.from({ length: 5 }, () => verifyEmailCode(deps, user.email, code)));
    expect(results.filter((r) => r.ok)).toEqual([{ ok: true, userId: user.id }]);
  });

  it("expires after 10 minutes", async () => {
    const { deps, advance } = codeDeps();
    const user = await registerUser();
    const { code } = await issueEmailCode(deps, user.email);
    advance(10 * 60_000);
    expect(await verifyEmailCode(deps, user.email, code)).toEqual({ ok: false, reason: "no_code" });
  });

  it("replaces the previous code when a new one is issued", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    const first = await issueEmailCode(deps, user.email);
    const second = await issueEmailCode(deps, user.email);
    expect(first.code).not.toBe(second.code); // one chance in a million of a false alarm
    expect(await verifyEmailCode(deps, user.email, first.code)).toMatchObject({ ok: false, reason: "invalid_code" });
    expect(await verifyEmailCode(deps, user.email, second.code)).toEqual({ ok: true, userId: user.id });
  });

  it("is bound to the address: not valid for another one, dead once the account's address changes", async () => {
    const { deps } = codeDeps();
    const [alice, bob] = await Promise.all([registerUser(), registerUser()]);
    const { code } = await issueEmailCode(deps, alice.email);
    expect(await verifyEmailCode(deps, bob.email, code)).toEqual({ ok: false, reason: "no_code" });
    const moved = `${unique("moved_")}@example.com`;
    await env.DB.prepare("update users set email = ? where id = ?").bind(moved, alice.id).run();
    expect(await verifyEmailCode(deps, alice.email, code)).toMatchObject({ ok: false, reason: "invalid_code" });
    expect(await verifyEmailCode(deps, moved, code)).toEqual({ ok: false, reason: "no_code" });
  });
});

/** A social identity linked to the account, as sign-in with a provider would leave it. */
const linkIdentity = (userId: string) =>
  env.DB.prepare("insert into oauth_identities (id, user_id, provider, subject) values (?, ?, 'acme', ?)")
    .bind(crypto.randomUUID(), userId, unique("sub_"))
    .run();

/** An OAuth link the account started and never finished (an authorizeUrl kept for later). */
const pendingLinkState = (userId: string) =>
  env.DB.prepare(
    "insert into oauth_states (state_hash, provider, code_verifier, redirect_uri, code_challenge, link_user_id, expires_at) values (?, 'acme', 'v', 'http://localhost/cb', 'c', ?, ?)",
  )
    .bind(unique("state_"), userId, new Date(Date.now() + 600_000).toISOString())
    .run();

describe("a right code on an account whose email was never verified", () => {
  it("takes the account back from whoever registered it: password, pending email, passkeys, identities, link states, sessions", async () => {
    const { deps } = codeDeps();
    const squatter = await registerUser();
    const session = await login(squatter);
    await withPasskey(passkeyDeps().deps, squatter);
    await linkIdentity(squatter.id);
    await pendingLinkState(squatter.id);
    await env.DB.prepare("update users set pending_email = ?, pending_email_expires_at = ? where id = ?")
      .bind(`${unique("attacker_")}@example.com`, new Date(Date.now() + 3_600_000).toISOString(), squatter.id)
      .run();
    const { code } = await issueEmailCode(deps, squatter.email);
    expect(await verifyEmailCode(deps, squatter.email, code)).toEqual({ ok: true, userId: squatter.id });

    const takeBack = takeBackAccount(deps.db, squatter, { via: "email-code" }, { ip: "203.0.113.9", now: deps.now() });
    const [verified] = await deps.db.batch(takeBack.statements as [never, ...never[]]);
    expect(verified).toEqual([{ id: squatter.id }]);
    expect(await rows("select state_hash from oauth_states where link_user_id = ?", squatter.id)).toEqual([]);
    expect(
      await rows("select action from audit_events where target_id = ? and action = 'account_reclaimed'", squatter.id),
    ).toHaveLength(1);
    const row = await userRowByEmail(squatter.email);
    expect(row?.password_hash).toBe(NO_PASSWORD);
    expect(await rows("select email_verified_at, pending_email from users where id = ?", squatter.id)).toEqual([
      { email_verified_at: expect.any(String), pending_email: null },
    ]);
    expect(await listPasskeys(deps.db, squatter.id)).toEqual([]);
    expect(await rows("select id from oauth_identities where user_id = ?", squatter.id)).toEqual([]);
    expect((await api("GET", "/me", { token: session.accessToken })).status).toBe(401);
    const relogin = await api("POST", "/login", { body: { email: squatter.email, password: squatter.password } });
    expect(relogin.status).toBe(401);
  });

  it("leaves a verified account as it is", async () => {
    const { deps } = codeDeps();
    const user = await registerUser();
    await env.DB.prepare("update users set email_verified_at = ? where id = ?")
      .bind(new Date().toISOString(), user.id)
      .run();
    const session = await login(user);
    const takeBack = takeBackAccount(deps.db, user, { via: "email-code" }, { ip: "203.0.113.9", now: deps.now() });
    await deps.db.batch(takeBack.statements as [never, ...never[]]);
    expect(
      await rows("select action from audit_events where target_id = ? and action = 'account_reclaimed'", user.id),
    ).toEqual([]);
    expect((await api("GET", "/me", { token: session.accessToken })).status).toBe(200);
    expect((await userRowByEmail(user.email))?.password_hash).not.toBe(NO_PASSWORD);
  });
});
