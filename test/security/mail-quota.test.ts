import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { MAX_MAILS_PER_HOUR, type MailKind, takeMailQuotaIn } from "../../src/mail/quota";
import { login, registerUser, unique } from "../support/api";
import { rows } from "../support/db";
import { emailsTo, waitForEmail } from "../support/mailbox";
import { LIFTED_RATE_LIMITS } from "../support/rate-limit";
import { settled } from "../support/settled";

/*
 * The hourly per-address mail caps, attacked with bursts of parallel requests.
 * The Workers rate limiters are lifted for these requests: they would answer
 * some of the burst with 429 first, and what is tested here is the cap that
 * holds beyond them (their own tests are in rate-limits.test.ts).
 */

const BURST = 20;
const RESET_SUBJECT = "Reset your password";
const VERIFY_SUBJECT = "Confirm your email address";

const burst = <T>(send: () => Promise<T>) => Promise.all(Array.from({ length: BURST }, send));
const withSubject = async (address: string, subject: string) =>
  (await emailsTo(address)).filter((m) => m.subject === subject);

describe("the reset mail cap", () => {
  it(`sends exactly ${MAX_MAILS_PER_HOUR} of ${BURST} parallel /forgot-password requests, answering 200 to all`, async () => {
    const user = await registerUser();
    const results = await burst(() =>
      settled("POST", "/forgot-password", { body: { email: user.email }, bindings: LIFTED_RATE_LIMITS }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(BURST).fill(200));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(await withSubject(user.email, RESET_SUBJECT)).toHaveLength(MAX_MAILS_PER_HOUR);
  });

  it("counts an address whatever its case", async () => {
    const user = await registerUser();
    for (const email of [user.email, user.email.toUpperCase(), user.email, user.email.toUpperCase()]) {
      const res = await settled("POST", "/forgot-password", { body: { email }, bindings: LIFTED_RATE_LIMITS });
      expect(res.status).toBe(200);
    }
    expect(await withSubject(user.email, RESET_SUBJECT)).toHaveLength(MAX_MAILS_PER_HOUR);
  });
});

describe("the verification mail cap", () => {
  it(`sends exactly ${MAX_MAILS_PER_HOUR} verification mails per hour, registration included, however many resends run in parallel`, async () => {
    const user = await registerUser();
    await waitForEmail(user.email, 1); // the registration's own verification mail takes one of the three
    const { accessToken } = await login(user);
    const results = await burst(() =>
      settled("POST", "/resend-verification", { token: accessToken, bindings: LIFTED_RATE_LIMITS }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(BURST).fill(200));
    expect(await withSubject(user.email, VERIFY_SUBJECT)).toHaveLength(MAX_MAILS_PER_HOUR);
  });
});

describe("takeMailQuotaIn (the counter itself, in D1)", () => {
  const db = createDb(env.DB);
  const kinds: MailKind[] = ["reset", "verify", "email_change", "login_code"];

  it(`grants exactly ${MAX_MAILS_PER_HOUR} of ${BURST} parallel takes, for every kind, each kind on its own budget`, async () => {
    const address = `${unique("q_")}@example.com`;
    for (const kind of kinds) {
      const granted = await burst(() => takeMailQuotaIn(db, kind, address));
      expect(granted.filter(Boolean), kind).toHaveLength(MAX_MAILS_PER_HOUR);
    }
  });

  it("starts a new window an hour after the first send, and not before", async () => {
    const address = `${unique("q_")}@example.com`;
    const start = 1_900_000_000;
    for (let i = 0; i < MAX_MAILS_PER_HOUR; i++)
      expect(await takeMailQuotaIn(db, "reset", address, { now: start })).toBe(true);
    expect(await takeMailQuotaIn(db, "reset", address, { now: start + 3599 })).toBe(false);
    expect(await takeMailQuotaIn(db, "reset", address, { now: start + 3600 })).toBe(true);
    expect(await takeMailQuotaIn(db, "reset", address, { now: start + 3601 })).toBe(true);
    expect(await takeMailQuotaIn(db, "reset", address, { now: start + 3602 })).toBe(true);
    expect(await takeMailQuotaIn(db, "reset", address, { now: start + 3603 })).toBe(false);
  });

  it("stores the address only as a hash", async () => {
    const address = `${unique("q_")}@example.com`;
    await takeMailQuotaIn(db, "verify", address);
    const stored = JSON.stringify(await rows("select * from mail_quota"));
    expect(stored).not.toContain(address);
    expect(stored).not.toContain(address.split("@")[0]);
  });
});
