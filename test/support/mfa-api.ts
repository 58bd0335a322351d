import { expect } from "vitest";
import { api, registerVerifiedAndLogin, type Session, type TestUser } from "./api";
import { base32Decode, totpCode } from "./totp";

/** The code an authenticator shows now, `drift` steps away (computed with node:crypto, not src/). */
export const codeNow = (secret: Uint8Array, drift = 0) => totpCode(secret, Date.now(), drift);

export type Enrolled = { session: Session; user: TestUser; secret: Uint8Array; recoveryCodes: string[] };

/** Enrols TOTP through the API, confirming with the previous step's code (so steps 0 and +1 stay usable). */
export async function enrolled(): Promise<Enrolled> {
  const session = await registerVerifiedAndLogin();
  const started = await api("POST", "/me/mfa/totp", {
    token: session.accessToken,
    body: { currentPassword: session.user.password },
  });
  expect(started.status).toBe(200);
  expect(started.body.data.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
  expect(started.body.data.qrSvg).toContain("<svg");
  const secret = base32Decode(started.body.data.secret);
  const confirmed = await api("POST", "/me/mfa/totp/confirm", {
    token: session.accessToken,
    body: { code: codeNow(secret, -1) },
  });
  expect(confirmed.status).toBe(200);
  expect(confirmed.body.data.recoveryCodes).toHaveLength(10);
  return { session, user: session.user, secret, recoveryCodes: confirmed.body.data.recoveryCodes };
}
