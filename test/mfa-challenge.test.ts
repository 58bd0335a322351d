import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/auth/tokens";
import { completeMfaChallenge, issueMfaChallenge, MFA_CHALLENGE_TTL_SECONDS } from "../src/auth/totp/challenge";
import { disableTotp } from "../src/auth/totp/enrolment";
import { registerUser } from "./support/api";
import { rows, userRowByEmail } from "./support/db";
import { type EnrolledUser, enrolledUser, mfaDeps } from "./support/mfa";
import { totpCode, wrongCodes } from "./support/totp";

/** An enrolled user who has just passed the password step, with the clock one step past enrolment. */
async function passwordStepDone() {
  const { deps, advanceSteps } = mfaDeps();
  const enrolled = await enrolledUser(deps);
  advanceSteps(1);
  const row = await userRowByEmail(enrolled.user.email);
  if (!row) throw new Error("no user row");
  const issued = await issueMfaChallenge(deps, { id: row.id, passwordHash: row.password_hash });
  return { deps, advanceSteps, ...enrolled, ...issued, code: () => totpCode(enrolled.secret, deps.now()) };
}

const wrongCode = (c: EnrolledUser & { deps: { now: () => number } }) =>
  wrongCodes(c.secret, c.deps.now(), 1)[0] as string;

describe("mfa challenge (the login mfaToken)", () => {
  it("completes once with a TOTP code; the token is stored only hashed and is single use", async () => {
    const c = await passwordStepDone();
    expect(c.expiresIn).toBe(300);
    expect(c.mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await rows("select token_hash from mfa_challenges where user_id = ?", c.user.id);
    expect(stored).toEqual([{ token_hash: await sha256Hex(c.mfaToken) }]);

    expect(await completeMfaChallenge(c.deps, c.mfaToken, { code: c.code() })).toEqual({
      ok: true,
      userId: c.user.id,
      firstFactor: "pwd",
      method: "totp",
    });
    c.advanceSteps(1);
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { code: c.code() })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
  });

  it("completes with a recovery code and says how many remain; the code is then spent", async () => {
    const c = await passwordStepDone();
    const recoveryCode = c.recoveryCodes[3] as string;
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { recoveryCode })).toEqual({
      ok: true,
      userId: c.user.id,
      firstFactor: "pwd",
      method: "recovery_code",
      remainingRecoveryCodes: 9,
    });
    const row = await userRowByEmail(c.user.email);
    const second = await issueMfaChallenge(c.deps, { id: c.user.id, passwordHash: row?.password_hash as string });
    expect(await completeMfaChallenge(c.deps, second.mfaToken, { recoveryCode })).toMatchObject({
      ok: false,
      reason: "invalid_code",
    });
  });

  it("refuses a replayed code (the same step) and counts it as a wrong one", async () => {
    const c = await passwordStepDone();
    const code = c.code();
    expect((await completeMfaChallenge(c.deps, c.mfaToken, { code })).ok).toBe(true);
    const row = await userRowByEmail(c.user.email);
    const next = await issueMfaChallenge(c.deps, { id: c.user.id, passwordHash: row?.password_hash as string });
    expect(await completeMfaChallenge(c.deps, next.mfaToken, { code })).toEqual({
      ok: false,
      reason: "invalid_code",
      userId: c.user.id,
      attemptsLeft: 4,
    });
  });

  it("dies after five wrong codes: a right code after them is refused", async () => {
    const c = await passwordStepDone();
    const left = [];
    for (let i = 0; i < 5; i++) {
      const result = await completeMfaChallenge(c.deps, c.mfaToken, { code: wrongCode(c) });
      left.push(result.ok ? "ok" : result.reason === "invalid_code" ? result.attemptsLeft : result.reason);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { code: c.code() })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { recoveryCode: c.recoveryCodes[0] as string })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
  });

  it("compares at most five codes per token, however many guesses run in parallel", async () => {
    const c = await passwordStepDone();
    const guesses = wrongCodes(c.secret, c.deps.now(), 20);
    const results = await Promise.all(guesses.map((code) => completeMfaChallenge(c.deps, c.mfaToken, { code })));
    expect(results.filter((r) => !r.ok && r.reason === "invalid_code")).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.reason === "invalid_token")).toHaveLength(15);
    const [row] = await rows("select attempts from mfa_challenges where user_id = ?", c.user.id);
    expect(row?.attempts).toBe(5);
  });

  it("of parallel completions with one token exactly one wins, even with different right factors", async () => {
    const c = await passwordStepDone();
    const proofs = [{ code: c.code() }, ...c.recoveryCodes.slice(0, 4).map((recoveryCode) => ({ recoveryCode }))];
    const results = await Promise.all(proofs.map((proof) => completeMfaChallenge(c.deps, c.mfaToken, proof)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it("expires after five minutes", async () => {
    const c = await passwordStepDone();
    c.deps.now = (
      (t) => () =>
        t + MFA_CHALLENGE_TTL_SECONDS * 1000 + 1
    )(c.deps.now());
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { code: totpCode(c.secret, c.deps.now()) })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
  });

  it("is bound to the password hash it came from: a password change kills it", async () => {
    const c = await passwordStepDone();
    await env.DB.prepare("update users set password_hash = ? where id = ?").bind("$2b$04$changed", c.user.id).run();
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { code: c.code() })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
  });

  it("dies when MFA is turned off", async () => {
    const c = await passwordStepDone();
    await disableTotp(c.deps, c.user.id);
    expect(await rows("select * from mfa_challenges where user_id = ?", c.user.id)).toEqual([]);
    expect(await completeMfaChallenge(c.deps, c.mfaToken, { code: c.code() })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
  });

  it("refuses forged tokens, and a token of an account without MFA", async () => {
    const c = await passwordStepDone();
    for (const forged of ["", "x", c.mfaToken.slice(0, -1), `${c.mfaToken}x`, await sha256Hex(c.mfaToken)]) {
      expect(await completeMfaChallenge(c.deps, forged, { code: c.code() })).toEqual({
        ok: false,
        reason: "invalid_token",
      });
    }
    const plain = await registerUser();
    const row = await userRowByEmail(plain.email);
    const issued = await issueMfaChallenge(c.deps, { id: plain.id, passwordHash: row?.password_hash as string });
    expect(await completeMfaChallenge(c.deps, issued.mfaToken, { code: c.code() })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
    // The first token still works: forged ones cost it nothing.
    expect((await completeMfaChallenge(c.deps, c.mfaToken, { code: c.code() })).ok).toBe(true);
  });

  it("sweeps the user's expired and spent tokens when issuing a new one", async () => {
    const c = await passwordStepDone();
    for (let i = 0; i < 5; i++) await completeMfaChallenge(c.deps, c.mfaToken, { code: wrongCode(c) });
    const row = await userRowByEmail(c.user.email);
    await issueMfaChallenge(c.deps, { id: c.user.id, passwordHash: row?.password_hash as string });
    c.deps.now = (
      (t) => () =>
        t + MFA_CHALLENGE_TTL_SECONDS * 1000
    )(c.deps.now());
    await issueMfaChallenge(c.deps, { id: c.user.id, passwordHash: row?.password_hash as string });
    expect(await rows("select * from mfa_challenges where user_id = ?", c.user.id)).toHaveLength(1);
  });
});
