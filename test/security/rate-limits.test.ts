import { describe, expect, it } from "vitest";
import { api, randomIp, registerAndLogin, registerUser, STRONG_PASSWORD, unique } from "../support/api";
import { expectRateLimitedAfter } from "../support/rate-limit";

/*
 * The endpoints that send mail or check a token, against the Workers Rate
 * Limiting bindings of wrangler.toml: 30 a minute per client IP
 * (RATE_LIMIT_IP) and 10 a minute per email address (RATE_LIMIT_EMAIL).
 * Per-IP tests vary the email so the per-email limit cannot answer first;
 * per-email tests vary the IP. Login and /refresh are in login.test.ts and
 * refresh.test.ts, and so is the per-IP limit on /register.
 */

const IP_LIMIT = 30;
const EMAIL_LIMIT = 10;
const freshEmail = () => `${unique("rl_")}@example.com`;

describe("POST /register", () => {
  it("is limited per email address, whatever its case, from any number of IPs", async () => {
    const email = freshEmail();
    await expectRateLimitedAfter(EMAIL_LIMIT, (attempt) =>
      api("POST", "/register", {
        body: { username: unique("rl_"), email: attempt % 2 ? email.toUpperCase() : email, password: STRONG_PASSWORD },
        ip: randomIp(),
      }),
    );
  });
});

describe("POST /forgot-password", () => {
  const forgot = (email: string, ip: string) => api("POST", "/forgot-password", { body: { email }, ip });

  it("is limited per client IP", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(IP_LIMIT, () => forgot(freshEmail(), ip));
    // Another IP is not affected.
    expect((await forgot(freshEmail(), randomIp())).status).toBe(200);
  });

  it("is limited per email address, for an existing account as for an unknown one", async () => {
    const user = await registerUser();
    const unknown = freshEmail();
    for (const email of [user.email, unknown]) {
      await expectRateLimitedAfter(EMAIL_LIMIT, () => forgot(email, randomIp()));
    }
  });
});

describe("POST /resend-verification", () => {
  // Up to 61 registrations, logins and mails: more than the default 5 s on a busy machine.
  it("is limited per client IP, across accounts", { timeout: 20_000 }, async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(IP_LIMIT, async () => {
      const s = await registerAndLogin();
      return api("POST", "/resend-verification", { token: s.accessToken, ip });
    });
  });

  it("is limited per account email, from any number of IPs", async () => {
    const s = await registerAndLogin();
    await expectRateLimitedAfter(EMAIL_LIMIT, () =>
      api("POST", "/resend-verification", { token: s.accessToken, ip: randomIp() }),
    );
  });
});

describe("token endpoints", () => {
  it("POST /verify-email is limited per client IP", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(IP_LIMIT, (attempt) =>
      api("POST", "/verify-email", { body: { token: `guess-${attempt}` }, ip }),
    );
  });

  it("POST /reset-password is limited per client IP", async () => {
    const ip = randomIp();
    await expectRateLimitedAfter(IP_LIMIT, (attempt) =>
      api("POST", "/reset-password", { body: { token: `guess-${attempt}`, password: "new-staple-orbit-42" }, ip }),
    );
  });
});

describe("changing one's own email", () => {
  it("is limited per account, on /me and /user/:ownId together, so it cannot mail-bomb addresses", async () => {
    const s = await registerAndLogin();
    // Alternating routes: separate budgets per route would let twice as many through.
    const paths = ["/me", `/user/${s.user.id}`];
    await expectRateLimitedAfter(EMAIL_LIMIT, (attempt) =>
      api("PATCH", paths[attempt % 2]!, {
        token: s.accessToken,
        body: { email: freshEmail(), currentPassword: s.user.password },
        ip: randomIp(),
      }),
    );
  });
});

describe("public endpoints under a flood of malformed bodies", () => {
  const junk = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`k${i}`, 1]));
  it.each([
    "/register",
    "/login",
    "/refresh",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/passkeys/login/options",
    "/passkeys/login",
  ])("POST %s counts the client IP before reading the body, so invalid bodies are throttled too", async (path) => {
    const ip = randomIp();
    await expectRateLimitedAfter(IP_LIMIT, () => api("POST", path, { body: junk, ip }));
  });
});
