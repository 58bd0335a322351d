import { expect } from "vitest";
import { api, type Session } from "./api";
import { type Knobs, SoftwareAuthenticator } from "./authenticator";
import { ORIGIN } from "./passkeys";

/** Passkey ceremonies through the HTTP routes, with a software authenticator (./authenticator.ts). */

/** Registers a passkey through the routes: step-up options, then the authenticator's answer. */
export async function addPasskey(session: Session, { name, code }: { name?: string; code?: string } = {}) {
  const authenticator = await SoftwareAuthenticator.create(ORIGIN);
  const options = await api("POST", "/me/passkeys/options", {
    token: session.accessToken,
    body: { currentPassword: session.user.password, code },
  });
  expect(options.status).toBe(200);
  const response = await authenticator.register(options.body.data.options);
  const added = await api("POST", "/me/passkeys", { token: session.accessToken, body: { response, name } });
  expect(added.status).toBe(201);
  return { authenticator, passkey: added.body.data.passkey };
}

/** Login options (for `email`, or discoverable without), signed by `authenticator`. */
export async function signedAssertion(authenticator: SoftwareAuthenticator, email?: string, knobs: Knobs = {}) {
  const options = await api("POST", "/passkeys/login/options", { body: email === undefined ? {} : { email } });
  expect(options.status).toBe(200);
  const { challengeId } = options.body.data;
  return { challengeId, response: await authenticator.assert(options.body.data.options, knobs) };
}

export const passkeyLogin = async (authenticator: SoftwareAuthenticator, email?: string, knobs: Knobs = {}) =>
  api("POST", "/passkeys/login", { body: await signedAssertion(authenticator, email, knobs) });
