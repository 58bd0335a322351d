import { describe, expect, it } from "vitest";
import { api, login, registerVerifiedAndLogin, type Session } from "./support/api";
import { d1Timing } from "./support/d1-usage";
import { failuresOf, rows, setFailures } from "./support/db";
import { expectFailure } from "./support/expect-failure";
import { addPasskey, passkeyLogin, signedAssertion } from "./support/passkey-api";
import { auditCount, sessionIdOf } from "./support/sessions";
import { settled } from "./support/settled";

/**
 * POST /me/reauthenticate with a passkey in two D1 round trips (issue #15):
 * the guard's check, the reserved attempt, the challenge's claim and the
 * credential's row in one batch; the signature checked in the Worker; the
 * session's proof, the clearing, the audit and the counter's conditional
 * UPDATE in the second. These tests pin what that layout must keep: each
 * would pass a request the proof must refuse if its condition were dropped.
 */

type Proof = Awaited<ReturnType<typeof signedAssertion>>;
const reauthenticate = (s: Pick<Session, "accessToken">, passkey: Proof) =>
  settled("POST", "/me/reauthenticate", { token: s.accessToken, body: { passkey } });

const lastProofOf = async (s: Session) =>
  (await rows("select last_proof_at from sessions where id = ?", sessionIdOf(s)))[0]?.last_proof_at ?? null;
const counterOf = async (passkeyId: string) =>
  (await rows("select counter, last_used_at from passkey_credentials where id = ?", passkeyId))[0];
const challengeLeft = async (challengeId: string) =>
  (await rows("select id from webauthn_challenges where id = ?", challengeId)).length;
const failureDetails = async (userId: string) =>
  (
    (await rows(
      "select details from audit_events where target_id = ? and action = 'login_failure' order by created_at",
      userId,
    )) as { details: string }[]
  ).map((r) => JSON.parse(r.details));

describe("POST /me/reauthenticate with a passkey: two round trips", () => {
  it("proves in 2 round trips, moves the counter, clears the attempt, audits", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    const res = await reauthenticate(s, await signedAssertion(authenticator, undefined, { counter: 5 }));
    expect(res.status).toBe(200);
    expect(d1Timing(res).queries).toBe(2);
    expect(await lastProofOf(s)).toEqual(expect.any(String));
    expect(await counterOf(authenticator.id)).toEqual({ counter: 5, last_used_at: expect.any(String) });
    expect(await failuresOf(s.user.email)).toEqual({});
    expect(await auditCount(s.user.id, "reauthenticate")).toBe(1);
  });

  it("a refused assertion also costs 2 round trips, counts one failure and keeps the reason in the audit", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    const res = await reauthenticate(
      s,
      await signedAssertion(authenticator, undefined, { origin: "https://evil.example" }),
    );
    expectFailure(res, 401, "INVALID_CREDENTIALS");
    expect(d1Timing(res).queries).toBe(2);
    expect(Object.values(await failuresOf(s.user.email))).toEqual([1, 1, 1]);
    expect(await failureDetails(s.user.id)).toEqual([
      expect.objectContaining({ via: "reauthenticate", reason: "origin", passkeyId: authenticator.id }),
    ]);
    expect(await lastProofOf(s)).toBeNull();
  });
});

describe("the counter's move is single use", () => {
  it("one assertion replayed in parallel: exactly one proves, the counter moves once", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    const proof = await signedAssertion(authenticator);
    const answers = await Promise.all(Array.from({ length: 5 }, () => reauthenticate(s, proof)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
    expect(await counterOf(authenticator.id)).toMatchObject({ counter: 1 });
    expect(await auditCount(s.user.id, "reauthenticate")).toBe(1);
    // The four replays found the challenge spent: each a failure of its network (the winner clears only its own).
    const counters = await failuresOf(s.user.email);
    expect(Object.entries(counters).filter(([scope, n]) => scope.startsWith("net:") && n === 1)).toHaveLength(4);
  });

  it("two assertions with one counter (a cloned authenticator) on two sessions: one proves, the other is audited", async () => {
    const s = await registerVerifiedAndLogin();
    const other = await login(s.user);
    const { authenticator } = await addPasskey(s);
    const proofs = [
      await signedAssertion(authenticator, undefined, { counter: 7 }),
      await signedAssertion(authenticator, undefined, { counter: 7 }),
    ];
    const answers = await Promise.all([s, other].map((session, i) => reauthenticate(session, proofs[i] as Proof)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    for (const r of answers.filter((r) => r.status === 401)) expectFailure(r, 401, "INVALID_CREDENTIALS");
    // Only the winner's session got fresh proof: the loser's write carried "the counter is still the one read".
    const proven = await Promise.all([s, other].map(lastProofOf));
    expect(proven.filter((p) => p !== null)).toHaveLength(1);
    expect(proven[answers.findIndex((r) => r.status === 200)]).not.toBeNull();
    expect(await auditCount(s.user.id, "reauthenticate")).toBe(1);
    expect(await counterOf(authenticator.id)).toMatchObject({ counter: 7 });
    expect(await failureDetails(s.user.id)).toEqual([
      expect.objectContaining({ via: "reauthenticate", reason: "counter_regression", passkeyId: authenticator.id }),
    ]);
    // The loser's attempt stays counted on its session; the winner's was given back.
    const loser = answers[0]?.status === 401 ? s : other;
    const winner = loser === s ? other : s;
    const counters = await failuresOf(s.user.email);
    expect(counters[`session:${sessionIdOf(loser)}`]).toBe(1);
    expect(counters[`session:${sessionIdOf(winner)}`]).toBeUndefined();
  });

  it("the clone that loses the race at its session's fifth failure ends that session, in the same batch", async () => {
    const s = await registerVerifiedAndLogin();
    const other = await login(s.user);
    const { authenticator } = await addPasskey(s);
    for (const session of [s, other]) await setFailures(s.user.email, `session:${sessionIdOf(session)}`, 4);
    const proofs = [
      await signedAssertion(authenticator, undefined, { counter: 3 }),
      await signedAssertion(authenticator, undefined, { counter: 3 }),
    ];
    const answers = await Promise.all([s, other].map((session, i) => reauthenticate(session, proofs[i] as Proof)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    const loser = answers[0]?.status === 401 ? s : other;
    const winner = loser === s ? other : s;
    expectFailure(await api("GET", "/me", { token: loser.accessToken }), 401, "UNAUTHORIZED");
    expect((await api("GET", "/me", { token: winner.accessToken })).status).toBe(200);
    expect(await failureDetails(s.user.id)).toEqual([
      expect.objectContaining({ reason: "counter_regression", sessionId: sessionIdOf(loser), sessionRevoked: true }),
    ]);
  });

  it("a counter that went backwards is refused and audited, and the stored one kept", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    expect((await reauthenticate(s, await signedAssertion(authenticator, undefined, { counter: 9 }))).status).toBe(200);
    const older = await reauthenticate(s, await signedAssertion(authenticator, undefined, { counter: 4 }));
    expectFailure(older, 401, "INVALID_CREDENTIALS");
    expect(await counterOf(authenticator.id)).toMatchObject({ counter: 9 });
    expect(await failureDetails(s.user.id)).toEqual([
      expect.objectContaining({ via: "reauthenticate", reason: "counter_regression", passkeyId: authenticator.id }),
    ]);
  });
});

describe("everything in the first round trip is bound to the caller and its live session", () => {
  it("an ended session: 401, the challenge is not spent, nothing counted, the counter untouched", async () => {
    const s = await registerVerifiedAndLogin();
    const { authenticator } = await addPasskey(s);
    const proof = await signedAssertion(authenticator);
    expect((await api("POST", "/logout", { token: s.accessToken })).status).toBe(200);
    const res = await reauthenticate(s, proof);
    expectFailure(res, 401, "UNAUTHORIZED");
    expect(d1Timing(res).queries).toBe(1);
    expect(await challengeLeft(proof.challengeId)).toBe(1);
    expect(await failuresOf(s.user.email)).toEqual({});
    expect(await counterOf(authenticator.id)).toEqual({ counter: 0, last_used_at: null });
  });

  it("another account's challenge (options asked with its email) is refused and stays its owner's", async () => {
    const [alice, bob] = await Promise.all([registerVerifiedAndLogin(), registerVerifiedAndLogin()]);
    const [{ authenticator: alicesKey }, { authenticator: bobsKey }] = [await addPasskey(alice), await addPasskey(bob)];
    const options = await api("POST", "/passkeys/login/options", { body: { email: bob.user.email } });
    const { challengeId } = options.body.data;
    // Alice signs Bob's challenge with her own passkey.
    const response = await alicesKey.assert(options.body.data.options);
    expectFailure(await reauthenticate(alice, { challengeId, response }), 401, "INVALID_CREDENTIALS");
    expect(await lastProofOf(alice)).toBeNull();
    expect(await counterOf(alicesKey.id)).toMatchObject({ counter: 0 });
    expect(await challengeLeft(challengeId)).toBe(1);
    // Bob can still sign in with it.
    const bobs = await api("POST", "/passkeys/login", {
      body: { challengeId, response: await bobsKey.assert(options.body.data.options) },
    });
    expect(bobs.status).toBe(200);
  });

  it("another account's passkey is never read: refused as unknown, its counter untouched", async () => {
    const [alice, bob] = await Promise.all([registerVerifiedAndLogin(), registerVerifiedAndLogin()]);
    await addPasskey(alice);
    const { authenticator: bobsKey } = await addPasskey(bob);
    expectFailure(await reauthenticate(alice, await signedAssertion(bobsKey)), 401, "INVALID_CREDENTIALS");
    expect(await failureDetails(alice.user.id)).toEqual([
      expect.objectContaining({ via: "reauthenticate", reason: "unknown_credential" }),
    ]);
    expect(await counterOf(bobsKey.id)).toEqual({ counter: 0, last_used_at: null });
    expect((await passkeyLogin(bobsKey)).status).toBe(200);
  });
});
