import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hotp, matchTotpStep, timeStep } from "../src/auth/totp/codes";
import {
  confirmTotpEnrolment,
  disableTotp,
  regenerateRecoveryCodes,
  startTotpEnrolment,
} from "../src/auth/totp/enrolment";
import { mfaKeys } from "../src/auth/totp/keys";
import { claimRecoveryCode, remainingRecoveryCodes } from "../src/auth/totp/recovery-codes";
import { openTotpSecret } from "../src/auth/totp/secret-box";
import { verifyTotpCode } from "../src/auth/totp/verify";
import { AppError } from "../src/http/errors";
import { registerUser } from "./support/api";
import { rows } from "./support/db";
import { enrolledUser, mfaDeps, testEncryptionKey } from "./support/mfa";
import { base32Decode, totpAt, totpCode, wrongCodes } from "./support/totp";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("test/support/totp.ts (the independent TOTP the tests trust)", () => {
  // RFC 6238 Appendix B: 8-digit codes, one seed per hash.
  const vectors: [number, string, string, string][] = [
    [59, "94287082", "46119246", "90693936"],
    [1111111109, "07081804", "68084774", "25091201"],
    [1111111111, "14050471", "67062674", "99943326"],
    [1234567890, "89005924", "91819424", "93441116"],
    [2000000000, "69279037", "90698825", "38618901"],
    [20000000000, "65353130", "77737706", "47863826"],
  ];
  const sha1Seed = ascii("12345678901234567890");
  const sha256Seed = ascii("12345678901234567890123456789012");
  const sha512Seed = ascii("1234567890123456789012345678901234567890123456789012345678901234");

  it.each(vectors)("matches RFC 6238 at T=%i", (time, sha1, sha256, sha512) => {
    expect(totpAt(sha1Seed, time, 8, "sha1")).toBe(sha1);
    expect(totpAt(sha256Seed, time, 8, "sha256")).toBe(sha256);
    expect(totpAt(sha512Seed, time, 8, "sha512")).toBe(sha512);
  });

  it("decodes RFC 4648 base32", () => {
    expect(new TextDecoder().decode(base32Decode("MZXW6YTBOI======"))).toBe("foobar");
    expect(new TextDecoder().decode(base32Decode("MZXW6YTBOI"))).toBe("foobar");
  });
});

describe("src/auth/totp/codes.ts (the Worker's HOTP/TOTP on Web Crypto)", () => {
  const seed = ascii("12345678901234567890");

  it("matches RFC 4226 Appendix D (HOTP, counters 0-9)", async () => {
    const expected = [
      "755224",
      "287082",
      "359152",
      "969429",
      "338314",
      "254676",
      "287922",
      "162583",
      "399871",
      "520489",
    ];
    expect(await Promise.all(expected.map((_, counter) => hotp(seed, counter)))).toEqual(expected);
  });

  it.each([
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ])("matches RFC 6238 Appendix B (SHA-1, 8 digits) at T=%i", async (time, code) => {
    expect(await hotp(seed, timeStep(time * 1000), 8)).toBe(code);
  });

  it("matches ±1 step of drift by the step it belongs to, and nothing else", async () => {
    // A fixed secret and time: with random ones, a code two steps away could equal one in the window by chance.
    const secret = new Uint8Array(20).map((_, i) => i * 13 + 7);
    const now = Date.UTC(2026, 10, 27, 12, 0, 10);
    const step = timeStep(now);
    for (const drift of [-1, 0, 1])
      expect(await matchTotpStep(secret, totpCode(secret, now, drift), now)).toBe(step + drift);
    for (const drift of [-2, 2]) expect(await matchTotpStep(secret, totpCode(secret, now, drift), now)).toBeNull();
    const right = totpCode(secret, now);
    const [wrong] = wrongCodes(secret, now, 1);
    for (const code of [wrong as string, `${right}0`, right.slice(1), ` ${right.slice(1)}`, "", "abcdef"])
      expect(await matchTotpStep(secret, code, now)).toBeNull();
  });
});

describe("TOTP enrolment", () => {
  it("starts with a base32 secret, an otpauth URI and a QR SVG, and confirms with a code from the app", async () => {
    const { deps } = mfaDeps();
    const user = await registerUser();
    const started = await startTotpEnrolment(deps, user);
    if (!started.ok) throw new Error("not started");
    expect(started.secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(started.otpauthUrl);
    expect(url.protocol).toBe("otpauth:");
    expect(started.otpauthUrl.startsWith(`otpauth://totp/Edge%20Users:${encodeURIComponent(user.email)}?`)).toBe(true);
    expect(url.searchParams.get("secret")).toBe(started.secret);
    expect(url.searchParams.get("issuer")).toBe("Edge Users");
    expect(started.qrSvg.startsWith("<svg")).toBe(true);

    // Pending: not on yet, and no code works for step-up.
    const [pending] = await rows("select mfa_enabled_at from users where id = ?", user.id);
    expect(pending?.mfa_enabled_at).toBeNull();
    const secret = base32Decode(started.secret);
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, deps.now()))).toBe(false);

    const confirmed = await confirmTotpEnrolment(deps, user.id, totpCode(secret, deps.now()));
    if (!confirmed.ok) throw new Error(confirmed.reason);
    expect(new Set(confirmed.recoveryCodes).size).toBe(10);
    for (const code of confirmed.recoveryCodes)
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){2}$/);
    const [enabled] = await rows("select mfa_enabled_at from users where id = ?", user.id);
    expect(enabled?.mfa_enabled_at).toEqual(expect.any(String));

    // Only keyed hashes are stored.
    const stored = await rows("select code_hash from recovery_codes where user_id = ?", user.id);
    expect(stored).toHaveLength(10);
    const dump = JSON.stringify(stored);
    for (const code of confirmed.recoveryCodes) {
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replaceAll("-", ""));
    }
  });

  it("refuses a wrong code, and confirming with nothing pending", async () => {
    const { deps } = mfaDeps();
    const user = await registerUser();
    expect(await confirmTotpEnrolment(deps, user.id, "123456")).toEqual({ ok: false, reason: "no_pending_enrolment" });
    const started = await startTotpEnrolment(deps, user);
    if (!started.ok) throw new Error("not started");
    const right = totpCode(base32Decode(started.secret), deps.now());
    const wrong = wrongCodes(base32Decode(started.secret), deps.now(), 1)[0] as string;
    for (const code of [wrong, "", "12345", "1234567", "abcdef", ` ${right}`]) {
      expect(await confirmTotpEnrolment(deps, user.id, code)).toEqual({ ok: false, reason: "invalid_code" });
    }
    const [row] = await rows("select mfa_enabled_at from users where id = ?", user.id);
    expect(row?.mfa_enabled_at).toBeNull();
  });

  it("a second start replaces the pending secret: the first one's codes no longer confirm", async () => {
    const { deps } = mfaDeps();
    const user = await registerUser();
    const first = await startTotpEnrolment(deps, user);
    const second = await startTotpEnrolment(deps, user);
    if (!first.ok || !second.ok) throw new Error("not started");
    expect(second.secret).not.toBe(first.secret);
    expect(await rows("select user_id from totp_credentials where user_id = ?", user.id)).toHaveLength(1);
    const stale = await confirmTotpEnrolment(deps, user.id, totpCode(base32Decode(first.secret), deps.now()));
    expect(stale).toEqual({ ok: false, reason: "invalid_code" });
    const fresh = await confirmTotpEnrolment(deps, user.id, totpCode(base32Decode(second.secret), deps.now()));
    expect(fresh.ok).toBe(true);
  });

  it("cannot restart once MFA is on (a stolen session cannot swap the authenticator)", async () => {
    const { deps } = mfaDeps();
    const { user, secret } = await enrolledUser(deps);
    expect(await startTotpEnrolment(deps, user)).toEqual({ ok: false, reason: "already_enabled" });
    deps.now = (
      (t) => () =>
        t + 30_000
    )(deps.now());
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, deps.now()))).toBe(true);
  });

  it("of parallel confirms with the same code exactly one returns recovery codes", async () => {
    const { deps } = mfaDeps();
    const user = await registerUser();
    const started = await startTotpEnrolment(deps, user);
    if (!started.ok) throw new Error("not started");
    const code = totpCode(base32Decode(started.secret), deps.now());
    const results = await Promise.all(Array.from({ length: 5 }, () => confirmTotpEnrolment(deps, user.id, code)));
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(await rows("select code_hash from recovery_codes where user_id = ?", user.id)).toHaveLength(10);
  });
});

describe("TOTP codes (verifyTotpCode)", () => {
  it("accepts a code once: a replay of the same step is refused", async () => {
    const { deps, advanceSteps } = mfaDeps();
    const { user, secret } = await enrolledUser(deps);
    // The step used to confirm is spent already.
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, deps.now()))).toBe(false);
    advanceSteps(1);
    const code = totpCode(secret, deps.now());
    expect(await verifyTotpCode(deps, user.id, code)).toBe(true);
    expect(await verifyTotpCode(deps, user.id, code)).toBe(false);
  });

  it("of parallel replays of one code exactly one is accepted", async () => {
    const { deps, advanceSteps } = mfaDeps();
    const { user, secret } = await enrolledUser(deps);
    advanceSteps(1);
    const code = totpCode(secret, deps.now());
    const results = await Promise.all(Array.from({ length: 8 }, () => verifyTotpCode(deps, user.id, code)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("accepts ±1 step of drift, refuses ±2, and never goes back to an earlier step", async () => {
    const { deps, advanceSteps } = mfaDeps();
    const { user, secret } = await enrolledUser(deps);
    advanceSteps(10);
    const now = deps.now();
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, now, -2))).toBe(false);
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, now, 2))).toBe(false);
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, now, -1))).toBe(true);
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, now, 0))).toBe(true);
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, now, 1))).toBe(true);
    advanceSteps(1);
    // Step now-1 is the current step's predecessor but older than the last accepted one.
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, deps.now(), -1))).toBe(false);
  });

  it("refuses wrong and malformed codes, another user's code, and users without MFA", async () => {
    const { deps, advanceSteps } = mfaDeps();
    const alice = await enrolledUser(deps);
    const bob = await enrolledUser(deps);
    const nobody = await registerUser();
    advanceSteps(1);
    const aliceCode = totpCode(alice.secret, deps.now());
    const wrong = wrongCodes(alice.secret, deps.now(), 1)[0] as string;
    for (const code of [wrong, "", "00000", "0000000", "12a456", "１２３４５６"]) {
      expect(await verifyTotpCode(deps, alice.user.id, code)).toBe(false);
    }
    if (aliceCode !== totpCode(bob.secret, deps.now())) {
      expect(await verifyTotpCode(deps, bob.user.id, aliceCode)).toBe(false);
    }
    expect(await verifyTotpCode(deps, nobody.id, aliceCode)).toBe(false);
    expect(await verifyTotpCode(deps, alice.user.id, aliceCode)).toBe(true);
  });
});

describe("recovery codes", () => {
  it("a code works once, case and dashes aside, and says how many remain", async () => {
    const { deps } = mfaDeps();
    const { user, recoveryCodes } = await enrolledUser(deps);
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    const [first, second] = recoveryCodes as [string, string];
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, first)).toEqual({ remaining: 9 });
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, first)).toBeNull();
    const sloppy = ` ${second.toUpperCase().replaceAll("-", " ")} `;
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, sloppy)).toEqual({ remaining: 8 });
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, "0000-0000-0000")).toBeNull();
    expect(await remainingRecoveryCodes(deps.db, user.id)).toBe(8);
  });

  it("of parallel uses of one code exactly one wins", async () => {
    const { deps } = mfaDeps();
    const { user, recoveryCodes } = await enrolledUser(deps);
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    const code = recoveryCodes[0] as string;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => claimRecoveryCode(deps.db, recoveryCodeKey, user.id, code)),
    );
    expect(results.filter((r) => r !== null)).toEqual([{ remaining: 9 }]);
  });

  it("another user's code, or the same code's hash copied to another user, matches nothing", async () => {
    const { deps } = mfaDeps();
    const alice = await enrolledUser(deps);
    const bob = await enrolledUser(deps);
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, bob.user.id, alice.recoveryCodes[0] as string)).toBeNull();
    // Bob's rows pointed at Alice's hashes (a database write without the key): still nothing.
    const [bobSet] = await rows("select recovery_set_id from totp_credentials where user_id = ?", bob.user.id);
    await env.DB.prepare("update recovery_codes set user_id = ?, set_id = ? where user_id = ?")
      .bind(bob.user.id, bobSet?.recovery_set_id, alice.user.id)
      .run();
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, bob.user.id, alice.recoveryCodes[1] as string)).toBeNull();
  });

  it("regenerating kills the old set; it needs MFA on", async () => {
    const { deps } = mfaDeps();
    const { user, recoveryCodes } = await enrolledUser(deps);
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    const fresh = await regenerateRecoveryCodes(deps, user.id);
    expect(fresh).toHaveLength(10);
    for (const old of recoveryCodes) expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, old)).toBeNull();
    expect(await rows("select code_hash from recovery_codes where user_id = ?", user.id)).toHaveLength(10);
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, fresh?.[0] as string)).toEqual({ remaining: 9 });
    expect(await regenerateRecoveryCodes(deps, (await registerUser()).id)).toBeNull();
  });

  it("parallel regenerations leave exactly one whole set alive", async () => {
    const { deps } = mfaDeps();
    const { user } = await enrolledUser(deps);
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    const sets = await Promise.all(Array.from({ length: 4 }, () => regenerateRecoveryCodes(deps, user.id)));
    expect(await rows("select code_hash from recovery_codes where user_id = ?", user.id)).toHaveLength(10);
    const alive = [];
    for (const set of sets) {
      if (await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, set?.[0] as string)) alive.push(set);
    }
    expect(alive).toHaveLength(1);
  });
});

describe("disabling TOTP", () => {
  it("turns MFA off and kills the secret and every recovery code", async () => {
    const { deps, advanceSteps } = mfaDeps();
    const { user, secret, recoveryCodes } = await enrolledUser(deps);
    const { recoveryCodeKey } = await mfaKeys(deps.config);
    expect(await disableTotp(deps, user.id)).toBe(true);
    expect(await disableTotp(deps, user.id)).toBe(false);
    advanceSteps(1);
    expect(await verifyTotpCode(deps, user.id, totpCode(secret, deps.now()))).toBe(false);
    expect(await claimRecoveryCode(deps.db, recoveryCodeKey, user.id, recoveryCodes[0] as string)).toBeNull();
    expect(await rows("select * from recovery_codes where user_id = ?", user.id)).toEqual([]);
    expect(await remainingRecoveryCodes(deps.db, user.id)).toBe(0);
    const [row] = await rows("select mfa_enabled_at from users where id = ?", user.id);
    expect(row?.mfa_enabled_at).toBeNull();
    expect((await startTotpEnrolment(deps, user)).ok).toBe(true);
  });
});

describe("secrets at rest", () => {
  it("D1 holds neither the secret nor anything that opens without the key, or for another user", async () => {
    const { deps } = mfaDeps();
    const alice = await enrolledUser(deps);
    const bob = await enrolledUser(deps);
    const [row] = await rows("select * from totp_credentials where user_id = ?", alice.user.id);
    const sealed = String(row?.secret_ciphertext);
    const hex = [...alice.secret].map((b) => b.toString(16).padStart(2, "0")).join("");
    const b64 = btoa(String.fromCharCode(...alice.secret));
    const dump = JSON.stringify(row).toLowerCase();
    for (const form of [hex, b64.slice(0, 20), b64.replaceAll("+", "-").replaceAll("/", "_").slice(0, 20)]) {
      expect(dump).not.toContain(form.toLowerCase());
    }
    const { totpSecretKey } = await mfaKeys(deps.config);
    expect(await openTotpSecret(totpSecretKey, alice.user.id, sealed)).toEqual(alice.secret);
    const other = await mfaKeys({ ENCRYPTION_KEY: testEncryptionKey() });
    expect(await openTotpSecret(other.totpSecretKey, alice.user.id, sealed)).toBeNull();
    expect(await openTotpSecret(totpSecretKey, bob.user.id, sealed)).toBeNull();
    expect(await openTotpSecret(totpSecretKey, alice.user.id, `${sealed.slice(0, -2)}AA`)).toBeNull();
    expect(await openTotpSecret(totpSecretKey, alice.user.id, "v2.x.y")).toBeNull();

    // Alice's ciphertext copied into Bob's row: Bob's account refuses it rather than using it.
    await env.DB.prepare("update totp_credentials set secret_ciphertext = ? where user_id = ?")
      .bind(sealed, bob.user.id)
      .run();
    await expect(verifyTotpCode(deps, bob.user.id, totpCode(alice.secret, deps.now() + 30_000))).rejects.toMatchObject({
      status: 503,
      code: "MISCONFIGURED",
    });
  });

  it("a missing or short ENCRYPTION_KEY is 503 MISCONFIGURED naming the variable, never its value", async () => {
    const user = await registerUser();
    for (const ENCRYPTION_KEY of [undefined, "", "too-short-a-key-of-31-bytes-xxx"]) {
      const { deps } = mfaDeps();
      deps.config = { ENCRYPTION_KEY };
      const error = await startTotpEnrolment(deps, user).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ status: 503, code: "MISCONFIGURED" });
      expect((error as Error).message).toContain("ENCRYPTION_KEY");
      if (ENCRYPTION_KEY) expect((error as Error).message).not.toContain(ENCRYPTION_KEY);
    }
    expect(await rows("select * from totp_credentials where user_id = ?", user.id)).toEqual([]);
  });
});
