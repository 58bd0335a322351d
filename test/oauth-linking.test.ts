import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAccountForIdentity, deriveUsername } from "../src/auth/oauth/accounts";
import { linkIdentity, resolveSignIn } from "../src/auth/oauth/identities";
import type { ProviderIdentity } from "../src/auth/oauth/identity";
import { decideLink, decideSignIn } from "../src/auth/oauth/linking";
import { claimLoginCode, issueLoginCode, LOGIN_CODE_TTL_SECONDS } from "../src/auth/oauth/login-codes";
import { sha256Hex } from "../src/auth/tokens";
import { api, registerUser, unique } from "./support/api";
import { deleteUserRow, rows } from "./support/db";
import { oauthDeps, pkcePair } from "./support/oauth";

const deps = oauthDeps();
const { db } = deps;

/** A redemption as the route sees it: the account only when the verifier matched. */
async function redeem(d: typeof deps, code: string, verifier: string) {
  const claimed = await claimLoginCode(d, code, verifier);
  return claimed?.verified ? { userId: claimed.userId, provider: claimed.provider } : null;
}

const markVerified = (userId: string) =>
  env.DB.prepare("update users set email_verified_at = ? where id = ?").bind(new Date().toISOString(), userId).run();

const identity = (overrides: Partial<ProviderIdentity> = {}): ProviderIdentity => ({
  provider: "acme",
  subject: unique("sub-"),
  email: `${unique("p")}@example.com`,
  emailVerified: true,
  ...overrides,
});

const identitiesOf = (userId: string) =>
  rows("select provider, subject, email from oauth_identities where user_id = ?", userId);

describe("decideSignIn (the rules, as a table)", () => {
  const verifiedAccount = { id: "u1", emailVerifiedAt: "2026-01-01T00:00:00.000Z" };
  const unverifiedAccount = { id: "u1", emailVerifiedAt: null };
  it.each([
    [
      "a linked identity signs in, whatever the emails",
      true,
      { userId: "u9" },
      unverifiedAccount,
      { action: "sign_in", userId: "u9" },
    ],
    ["no account with the email: create", true, null, null, { action: "create" }],
    [
      "no account, provider email unverified: refuse (no account from an unverified claim)",
      false,
      null,
      null,
      { action: "refuse", code: "EMAIL_REQUIRED" },
    ],
    ["both verified: link", true, null, verifiedAccount, { action: "link", userId: "u1" }],
    ["provider unverified: refuse", false, null, verifiedAccount, { action: "refuse", code: "ACCOUNT_EXISTS" }],
    [
      "account unverified (pre-registered): refuse",
      true,
      null,
      unverifiedAccount,
      { action: "refuse", code: "ACCOUNT_EXISTS" },
    ],
    ["neither verified: refuse", false, null, unverifiedAccount, { action: "refuse", code: "ACCOUNT_EXISTS" }],
  ] as const)("%s", (_, emailVerified, linkedTo, account, decision) => {
    expect(decideSignIn(identity({ emailVerified }), linkedTo, account)).toEqual(decision);
  });

  it("refuses to create an account without an email", () => {
    expect(decideSignIn(identity({ email: null, emailVerified: false }), null, null)).toEqual({
      action: "refuse",
      code: "EMAIL_REQUIRED",
    });
  });

  it("decideLink never moves an identity from its owner", () => {
    expect(decideLink(null, "me")).toEqual({ action: "link" });
    expect(decideLink({ userId: "me" }, "me")).toEqual({ action: "already_linked" });
    expect(decideLink({ userId: "other" }, "me")).toEqual({ action: "refuse", code: "IDENTITY_IN_USE" });
  });
});

describe("resolveSignIn against D1", () => {
  it("links a verified provider email to the verified account with it, then signs in by the identity", async () => {
    const owner = await registerUser();
    await markVerified(owner.id);
    const id = identity({ email: owner.email });
    expect(await resolveSignIn(db, id)).toEqual({ action: "link", userId: owner.id });
    expect(await identitiesOf(owner.id)).toEqual([{ provider: "acme", subject: id.subject, email: owner.email }]);
    // Later sign-ins go by (provider, subject), even with another email at the provider.
    expect(await resolveSignIn(db, { ...id, email: "changed@example.com" })).toEqual({
      action: "sign_in",
      userId: owner.id,
      email: owner.email,
    });
  });

  it("refuses the unverified-email takeover: an attacker pre-registers the victim's address", async () => {
    // The attacker registers victim@… first and never verifies it (they cannot).
    const preRegistered = await registerUser();
    // The real owner signs in with a provider that verified the address.
    const victim = identity({ email: preRegistered.email, emailVerified: true });
    expect(await resolveSignIn(db, victim)).toEqual({ action: "refuse", code: "ACCOUNT_EXISTS" });
    expect(await identitiesOf(preRegistered.id)).toEqual([]);
  });

  it("refuses a provider that does not vouch for the email of a verified account", async () => {
    const owner = await registerUser();
    await markVerified(owner.id);
    expect(await resolveSignIn(db, identity({ email: owner.email, emailVerified: false }))).toEqual({
      action: "refuse",
      code: "ACCOUNT_EXISTS",
    });
    expect(await identitiesOf(owner.id)).toEqual([]);
  });

  it("answers create for a new email, and never matches an identity without one to an account", async () => {
    expect(await resolveSignIn(db, identity())).toEqual({ action: "create" });
    expect(await resolveSignIn(db, identity({ email: null, emailVerified: false }))).toEqual({
      action: "refuse",
      code: "EMAIL_REQUIRED",
    });
  });

  it("links once when parallel sign-ins race for the same new identity", async () => {
    const owner = await registerUser();
    await markVerified(owner.id);
    const id = identity({ email: owner.email });
    const results = await Promise.all(Array.from({ length: 6 }, () => resolveSignIn(db, id)));
    for (const r of results) expect(["link", "sign_in"]).toContain(r.action);
    expect(results.every((r) => "userId" in r && r.userId === owner.id)).toBe(true);
    expect(await identitiesOf(owner.id)).toHaveLength(1);
  });
});

describe("linkIdentity from a signed-in session", () => {
  it("links any identity the user proves at the provider, whatever its email", async () => {
    const me = await registerUser();
    const id = identity({ email: "someone-else@example.com", emailVerified: false });
    const first = await linkIdentity(db, id, me.id);
    expect(first).toMatchObject({ action: "link", identity: { provider: "acme", email: id.email } });
    const again = await linkIdentity(db, id, me.id);
    expect(again).toEqual({ action: "already_linked", identity: "identity" in first ? first.identity : null });
    expect(await identitiesOf(me.id)).toHaveLength(1);
  });

  it("refuses an identity already linked to someone else and leaves it where it is", async () => {
    const owner = await registerUser();
    const thief = await registerUser();
    const id = identity();
    await linkIdentity(db, id, owner.id);
    expect(await linkIdentity(db, id, thief.id)).toEqual({ action: "refuse", code: "IDENTITY_IN_USE" });
    expect(await identitiesOf(owner.id)).toHaveLength(1);
    expect(await identitiesOf(thief.id)).toEqual([]);
  });

  it("gives a contested identity to exactly one of two accounts linking it at once", async () => {
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    const id = identity();
    const results = await Promise.all([a, b, a, b].map((u) => linkIdentity(db, id, u.id)));
    expect(results.filter((r) => r.action === "link")).toHaveLength(1);
    const linked = await rows(
      "select user_id from oauth_identities where provider = ? and subject = ?",
      id.provider,
      id.subject,
    );
    expect(linked).toHaveLength(1);
  });

  it("cannot link to an account that no longer exists", async () => {
    const gone = await registerUser();
    await deleteUserRow(gone.id);
    const id = identity();
    expect(await linkIdentity(db, id, gone.id)).toEqual({ action: "refuse", code: "ACCOUNT_GONE" });
    expect(await rows("select * from oauth_identities where subject = ?", id.subject)).toEqual([]);
  });

  it("identities go with their account when it is deleted", async () => {
    const me = await registerUser();
    await linkIdentity(db, identity(), me.id);
    await deleteUserRow(me.id);
    expect(await identitiesOf(me.id)).toEqual([]);
  });
});

describe("one-time login codes", () => {
  const issue = async (userId: string) => {
    const spa = await pkcePair();
    const code = await issueLoginCode(deps, { userId, provider: "acme", codeChallenge: spa.challenge });
    return { code, spa };
  };

  it("redeems once with the SPA's verifier, and stores only the hash", async () => {
    const user = await registerUser();
    const { code, spa } = await issue(user.id);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await rows("select * from oauth_login_codes where code_hash = ?", await sha256Hex(code))).toHaveLength(1);
    expect(await redeem(deps, code, spa.verifier)).toEqual({ userId: user.id, provider: "acme" });
    expect(await redeem(deps, code, spa.verifier)).toBeNull();
  });

  it("refuses a wrong verifier, and the code is spent by that attempt", async () => {
    const user = await registerUser();
    const { code, spa } = await issue(user.id);
    const attacker = await pkcePair();
    // The account is named (its lockout counts the failure), but nothing is granted.
    expect(await claimLoginCode(deps, code, attacker.verifier)).toMatchObject({ userId: user.id, verified: false });
    expect(await redeem(deps, code, spa.verifier)).toBeNull();
  });

  it("refuses the challenge itself, malformed verifiers, and unknown codes", async () => {
    const user = await registerUser();
    for (const verifier of [(await issue(user.id)).spa.challenge, "", "short", "x".repeat(129), `${"a".repeat(43)} `]) {
      const { code } = await issue(user.id);
      expect(await redeem(deps, code, verifier)).toBeNull();
    }
    expect(await redeem(deps, "made-up-code", (await pkcePair()).verifier)).toBeNull();
  });

  it("expires after 60 seconds", async () => {
    const user = await registerUser();
    const { code, spa } = await issue(user.id);
    const later = oauthDeps({ now: () => Date.now() + (LOGIN_CODE_TTL_SECONDS + 1) * 1000 });
    expect(await redeem(later, code, spa.verifier)).toBeNull();
  });

  it("of parallel redemptions exactly one succeeds", async () => {
    const user = await registerUser();
    const { code, spa } = await issue(user.id);
    const results = await Promise.all(Array.from({ length: 6 }, () => redeem(deps, code, spa.verifier)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });
});

describe("createAccountForIdentity", () => {
  const create = (id: ProviderIdentity & { email: string }) => createAccountForIdentity({ db }, id);

  it("creates a passwordless account with a derived username and the identity, verified as the provider says", async () => {
    const local = unique("Ad.a+");
    const id = {
      ...identity({ email: `${local.toLowerCase()}@example.com` }),
      email: `${local.toLowerCase()}@example.com`,
    };
    const result = await create(id);
    if (!result.ok) throw new Error(result.reason);
    const [user] = await rows(
      "select username, email, has_password, email_verified_at from users where id = ?",
      result.userId,
    );
    expect(user).toMatchObject({ username: local.toLowerCase().replace("+", ""), email: id.email, has_password: 0 });
    expect(user?.email_verified_at).not.toBeNull();
    expect(await resolveSignIn(db, id)).toEqual({ action: "sign_in", userId: result.userId, email: id.email });

    const unverified = identity({ emailVerified: false });
    const second = await create({ ...unverified, email: unverified.email ?? "" });
    if (!second.ok) throw new Error(second.reason);
    expect(await rows("select email_verified_at from users where id = ?", second.userId)).toEqual([
      { email_verified_at: null },
    ]);
  });

  it("refuses a password login for it exactly like a wrong password", async () => {
    const id = identity();
    const result = await create({ ...id, email: id.email ?? "" });
    if (!result.ok) throw new Error(result.reason);
    for (const password of ["", "correct-horse-battery-9", "!", "x".repeat(43)]) {
      const res = await api("POST", "/login", { body: { email: id.email, password } });
      expect([400, 401]).toContain(res.status);
      if (res.status === 401) expect(res.body.error.code).toBe("INVALID_CREDENTIALS");
    }
  });

  it("suffixes a taken username", async () => {
    const taken = await registerUser();
    const email = `${taken.username}@elsewhere.test`;
    const result = await create({ ...identity(), email });
    if (!result.ok) throw new Error(result.reason);
    const [user] = await rows("select username from users where id = ?", result.userId);
    expect(user?.username).toMatch(new RegExp(`^${taken.username}-[A-Za-z0-9_-]{6}$`));
  });

  it("creates nothing when the email was registered meanwhile", async () => {
    const owner = await registerUser();
    const before = await rows("select count(*) as n from users");
    expect(await create({ ...identity(), email: owner.email })).toEqual({ ok: false, reason: "email_taken" });
    expect(await rows("select count(*) as n from users")).toEqual(before);
  });

  it("makes one account when parallel first sign-ins race with one new identity", async () => {
    const id = identity();
    const email = id.email ?? "";
    const results = await Promise.all(Array.from({ length: 4 }, () => create({ ...id, email })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await rows("select id from users where email = ?", email)).toHaveLength(1);
    expect(await rows("select id from oauth_identities where subject = ?", id.subject)).toHaveLength(1);
  });

  it.each([
    ["ada@example.com", "ada"],
    ["a@example.com", "usera"],
    ["...x@example.com", "userx"],
    ["o'brien+tag@example.com", "obrientag"],
    [`${"l".repeat(40)}@example.com`, "l".repeat(24)],
  ])("derives a username from %s", (email, username) => {
    expect(deriveUsername(email, 0)).toBe(username);
    expect(deriveUsername(email, 1)).toMatch(new RegExp(`^${username}-[A-Za-z0-9_-]{6}$`));
  });
});
