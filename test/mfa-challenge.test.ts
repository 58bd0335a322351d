import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/auth/tokens";
import { issueMfaChallenge, MFA_CHALLENGE_TTL_SECONDS } from "../src/auth/totp/challenge";
import { createDb } from "../src/db/client";
import { api, randomIp, registerUser, type TestUser } from "./support/api";
import { failuresOf, rows, userRowByEmail } from "./support/db";
import { expectFailure } from "./support/expect-failure";
import { waitForEmail } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import { settled } from "./support/settled";
import { wrongCodes } from "./support/totp";

/*
 * The login mfaToken, driven through the live route: POST /login issues it,
 * POST /login/mfa completes it (src/auth/mfa/routes.ts, `reserveStep` and
 * `claimStep` with `completeSignIn`). Each test signs in from its own network
 * (`ip`), so the lockout counted by one test cannot decide another's answers;
 * parallel requests each come from a network of their own, so the rate limits
 * (per IP, and per account and network) leave only the token's own cap to decide.
 */

type Proof = { code: string } | { recoveryCode: string };

/** POST /login with the right password: the mfaRequired answer. */
async function passwordStep(user: TestUser, ip: string) {
  const res = await api("POST", "/login", { ip, body: { email: user.email, password: user.password } });
  expect(res.status).toBe(200);
  expect(res.body.data.mfaRequired).toBe(true);
  return res.body.data as { mfaRequired: true; mfaToken: string; expiresIn: number };
}

const complete = (mfaToken: string, proof: Proof, ip: string) =>
  api("POST", "/login/mfa", { ip, body: { mfaToken, ...proof } });

/** `count` distinct client addresses, each its own network. */
const distinctIps = (count: number) => {
  const prefix = randomIp().split(".").slice(0, 3).join(".");
  return Array.from({ length: count }, (_, i) => `${prefix}.${i + 1}`);
};

const tokenRows = (userId: string) => rows("select token_hash, attempts from mfa_challenges where user_id = ?", userId);

/** The details of a user's audit lines of one action, oldest first. */
const auditDetails = async (userId: string, action: string) =>
  (
    await rows("select details from audit_events where target_id = ? and action = ? order by rowid", userId, action)
  ).map((r) => JSON.parse(r.details as string) as Record<string, unknown> | null);

const latestAmr = async (userId: string) =>
  (await rows("select amr from sessions where user_id = ? order by rowid desc limit 1", userId))[0]?.amr;

describe("mfa challenge (the login mfaToken, over POST /login/mfa)", () => {
  it("completes once with a TOTP code; the token is stored only hashed and is single use", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const step = await passwordStep(user, ip);
    expect(step.expiresIn).toBe(300);
    expect(step.mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await tokenRows(user.id)).toEqual([{ token_hash: await sha256Hex(step.mfaToken), attempts: 0 }]);

    const done = await complete(step.mfaToken, { code: codeNow(secret) }, ip);
    expect(done.status).toBe(200);
    expect(done.body.data.accessToken).toBeTypeOf("string");
    expect(done.body.data.user.id).toBe(user.id);
    // First factor the password, second the TOTP code.
    expect(await latestAmr(user.id)).toBe("pwd,otp");
    expect((await auditDetails(user.id, "login_success")).at(-1)).toMatchObject({ via: "login/mfa", method: "totp" });

    expectFailure(await complete(step.mfaToken, { code: codeNow(secret, 1) }, ip), 401, "INVALID_MFA_TOKEN");
  });

  it("completes with a recovery code and says how many remain; the code is then spent", async () => {
    const { user, recoveryCodes } = await enrolled();
    const ip = randomIp();
    const recoveryCode = recoveryCodes[3] as string;
    const step = await passwordStep(user, ip);
    const done = await settled("POST", "/login/mfa", { ip, body: { mfaToken: step.mfaToken, recoveryCode } });
    expect(done.status).toBe(200);
    expect(done.body.data.user.id).toBe(user.id);
    expect(await latestAmr(user.id)).toBe("pwd,recovery");
    expect((await auditDetails(user.id, "login_success")).at(-1)).toMatchObject({
      via: "login/mfa",
      method: "recovery_code",
    });
    // How many remain: in the audit line, and in the mail to the owner.
    expect(await auditDetails(user.id, "recovery_code_used")).toEqual([{ remaining: 9 }]);
    const mail = await waitForEmail(user.email, 3);
    expect(mail.subject).toBe("A recovery code was used to sign in");
    expect(mail.text).toContain("9 unused recovery codes remain");

    const second = await passwordStep(user, ip);
    expectFailure(await complete(second.mfaToken, { recoveryCode }, ip), 401, "INVALID_MFA_CODE");
  });

  it("refuses a replayed code (the same step) and counts it as a wrong one", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const code = codeNow(secret);
    expect((await complete((await passwordStep(user, ip)).mfaToken, { code }, ip)).status).toBe(200);
    expect(await failuresOf(user.email)).toEqual({});

    const next = await passwordStep(user, ip);
    expectFailure(await complete(next.mfaToken, { code }, ip), 401, "INVALID_MFA_CODE");
    // Counted: one of the token's five tries, the lockout (the password step's attempt plus this one), the audit.
    expect(await tokenRows(user.id)).toEqual([{ token_hash: await sha256Hex(next.mfaToken), attempts: 1 }]);
    const net = Object.keys(await failuresOf(user.email)).find((scope) => scope.startsWith("net:")) as string;
    expect(await failuresOf(user.email)).toEqual({ account: 2, [net]: 2 });
    expect(await auditDetails(user.id, "mfa_failure")).toEqual([{ via: "login", attemptsLeft: 4 }]);
  });

  it("dies after five wrong codes: a right code after them is refused", async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const ip = randomIp();
    const step = await passwordStep(user, ip);
    for (const code of wrongCodes(secret, Date.now(), 5)) {
      expectFailure(await complete(step.mfaToken, { code }, ip), 401, "INVALID_MFA_CODE");
    }
    expect((await auditDetails(user.id, "mfa_failure")).map((d) => d?.attemptsLeft)).toEqual([4, 3, 2, 1, 0]);
    expectFailure(await complete(step.mfaToken, { code: codeNow(secret) }, ip), 401, "INVALID_MFA_TOKEN");
    expectFailure(
      await complete(step.mfaToken, { recoveryCode: recoveryCodes[0] as string }, ip),
      401,
      "INVALID_MFA_TOKEN",
    );
  });

  it("compares at most five codes per token, however many guesses run in parallel", async () => {
    const { user, secret } = await enrolled();
    const ips = distinctIps(21);
    const step = await passwordStep(user, ips[20] as string);
    const guesses = wrongCodes(secret, Date.now(), 20);
    const answers = await Promise.all(guesses.map((code, i) => complete(step.mfaToken, { code }, ips[i] as string)));
    const codes = answers.map((r) => r.body.error?.code);
    expect(codes.filter((c) => c === "INVALID_MFA_CODE")).toHaveLength(5);
    expect(codes.filter((c) => c === "INVALID_MFA_TOKEN")).toHaveLength(15);
    expect((await tokenRows(user.id))[0]?.attempts).toBe(5);
  });

  it("of parallel completions with one token exactly one wins, even with different right factors", async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const ips = distinctIps(6);
    const step = await passwordStep(user, ips[5] as string);
    const proofs: Proof[] = [
      { code: codeNow(secret) },
      ...recoveryCodes.slice(0, 4).map((recoveryCode) => ({ recoveryCode })),
    ];
    const answers = await Promise.all(proofs.map((proof, i) => complete(step.mfaToken, proof, ips[i] as string)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of answers.filter((r) => r.status !== 200)) {
      expect(["INVALID_MFA_CODE", "INVALID_MFA_TOKEN"]).toContain(r.body.error?.code);
    }
    const secondSteps = (await auditDetails(user.id, "login_success")).filter((d) => d?.via === "login/mfa");
    expect(secondSteps).toHaveLength(1);
  });

  it("expires after five minutes", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const before = Date.now();
    const step = await passwordStep(user, ip);
    const [row] = await rows("select expires_at from mfa_challenges where user_id = ?", user.id);
    const lifetime = Date.parse(row?.expires_at as string) - before;
    expect(lifetime).toBeGreaterThanOrEqual(MFA_CHALLENGE_TTL_SECONDS * 1000 - 2_000);
    expect(lifetime).toBeLessThanOrEqual(MFA_CHALLENGE_TTL_SECONDS * 1000 + 2_000);
    // No clock seam over HTTP: the five minutes pass in D1.
    await env.DB.prepare("update mfa_challenges set expires_at = ? where token_hash = ?")
      .bind(new Date(Date.now() - 1).toISOString(), await sha256Hex(step.mfaToken))
      .run();
    expectFailure(await complete(step.mfaToken, { code: codeNow(secret) }, ip), 401, "INVALID_MFA_TOKEN");
  });

  it("is bound to the password hash it came from: a password change kills it", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const step = await passwordStep(user, ip);
    await env.DB.prepare("update users set password_hash = ? where id = ?").bind("$2b$04$changed", user.id).run();
    expectFailure(await complete(step.mfaToken, { code: codeNow(secret) }, ip), 401, "INVALID_MFA_TOKEN");
  });

  it("dies when MFA is turned off", async () => {
    const { session, user, secret } = await enrolled();
    const ip = randomIp();
    const step = await passwordStep(user, ip);
    const off = await api("DELETE", "/me/mfa/totp", {
      ip,
      token: session.accessToken,
      body: { code: codeNow(secret), currentPassword: user.password },
    });
    expect(off.status).toBe(200);
    expect(await rows("select * from mfa_challenges where user_id = ?", user.id)).toEqual([]);
    expectFailure(await complete(step.mfaToken, { code: codeNow(secret, 1) }, ip), 401, "INVALID_MFA_TOKEN");
  });

  it("refuses forged tokens, and a token of an account without MFA", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const step = await passwordStep(user, ip);
    const code = codeNow(secret);
    // An empty token is refused by the body's schema, before the route looks at it.
    expectFailure(await complete("", { code }, ip), 400, "VALIDATION_ERROR");
    for (const forged of ["x", step.mfaToken.slice(0, -1), `${step.mfaToken}x`, await sha256Hex(step.mfaToken)]) {
      expectFailure(await complete(forged, { code }, ip), 401, "INVALID_MFA_TOKEN");
    }
    // POST /login never issues one to an account without MFA: issued directly, as login would.
    const plain = await registerUser();
    const row = await userRowByEmail(plain.email);
    const issued = await issueMfaChallenge(
      { db: createDb(env.DB) },
      { id: plain.id, passwordHash: row?.password_hash as string },
    );
    expectFailure(await complete(issued.mfaToken, { code }, ip), 401, "INVALID_MFA_TOKEN");
    // The first token still works: forged ones cost it nothing.
    expect(await tokenRows(user.id)).toEqual([{ token_hash: await sha256Hex(step.mfaToken), attempts: 0 }]);
    expect((await complete(step.mfaToken, { code }, ip)).status).toBe(200);
  });

  it("sweeps the user's expired and spent tokens when issuing a new one", async () => {
    const { user, secret } = await enrolled();
    const ip = randomIp();
    const spent = await passwordStep(user, ip);
    for (const code of wrongCodes(secret, Date.now(), 5)) await complete(spent.mfaToken, { code }, ip);
    const second = await passwordStep(user, ip);
    expect(await tokenRows(user.id)).toEqual([{ token_hash: await sha256Hex(second.mfaToken), attempts: 0 }]);
    await env.DB.prepare("update mfa_challenges set expires_at = ? where user_id = ?")
      .bind(new Date(Date.now() - 1).toISOString(), user.id)
      .run();
    const third = await passwordStep(user, ip);
    expect(await tokenRows(user.id)).toEqual([{ token_hash: await sha256Hex(third.mfaToken), attempts: 0 }]);
  });
});
