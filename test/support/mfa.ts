import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { MfaDeps } from "../../src/auth/totp/deps";
import { confirmTotpEnrolment, startTotpEnrolment } from "../../src/auth/totp/enrolment";
import { createDb } from "../../src/db/client";
import { registerUser, type TestUser } from "./api";
import { base32Decode, midStep, totpCode } from "./totp";

/** A 32-byte key made fresh per test file: nothing in .dev.vars or the shell decides a result. */
export const testEncryptionKey = () =>
  [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Service dependencies over the real D1, with a clock the test moves (it starts mid-step). */
export function mfaDeps(key = testEncryptionKey()) {
  let now = midStep();
  const deps: MfaDeps & { now: () => number } = {
    db: createDb(env.DB),
    config: { ENCRYPTION_KEY: key },
    now: () => now,
  };
  return {
    deps,
    /** Moves the clock by whole 30-second steps (staying mid-step). */
    advanceSteps: (steps: number) => {
      now += steps * 30_000;
      return now;
    },
  };
}

export type EnrolledUser = { user: TestUser; secret: Uint8Array; recoveryCodes: string[] };

/** A registered user with TOTP enrolled and confirmed at the deps' current time (that step is then spent). */
export async function enrolledUser(deps: MfaDeps & { now: () => number }): Promise<EnrolledUser> {
  const user = await registerUser();
  const started = await startTotpEnrolment(deps, user);
  if (!started.ok) throw new Error("enrolment did not start");
  const secret = base32Decode(started.secret);
  const confirmed = await confirmTotpEnrolment(deps, user.id, totpCode(secret, deps.now()));
  if (!confirmed.ok) throw new Error(`enrolment not confirmed: ${confirmed.reason}`);
  expect(confirmed.recoveryCodes).toHaveLength(10);
  return { user, secret, recoveryCodes: confirmed.recoveryCodes };
}
