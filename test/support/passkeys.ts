import { env } from "cloudflare:workers";
import { passkeyConfig } from "../../src/auth/passkeys/config";
import type { PasskeyDeps } from "../../src/auth/passkeys/deps";
import { loginOptions } from "../../src/auth/passkeys/login";
import { registrationOptions, verifyRegistration } from "../../src/auth/passkeys/registration";
import { createDb } from "../../src/db/client";
import { loadConfig } from "../../src/env";
import type { TestUser } from "./api";
import { type Algorithm, SoftwareAuthenticator } from "./authenticator";

/** The origin of the test Worker's pages (APP_URL in vitest.config.ts): the default passkey origin. */
export const ORIGIN = "https://api.test";

/** The session and token a service-level registration is bound to (routes pass the caller's own). */
export const CALLER = { sessionId: "service-test-session", tokenId: "service-test-token" };

/** Passkey service dependencies over the real D1 and the pinned configuration, with a clock a test can move. */
export function passkeyDeps() {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.problem);
  const config = passkeyConfig(loaded.config);
  if (!config) throw new Error("no RP ID in the test configuration");
  let now = Date.now();
  const deps: PasskeyDeps & { now: () => number } = {
    db: createDb(env.DB),
    config,
    decoyKey: env.JWT_SECRET,
    now: () => now,
  };
  return { deps, advance: (ms: number) => (now += ms) };
}

/** A software authenticator with a passkey registered to `user` through a real ceremony. */
export async function withPasskey(deps: PasskeyDeps, user: TestUser, algorithm: Algorithm = "ES256") {
  const authenticator = await SoftwareAuthenticator.create(ORIGIN, algorithm);
  const options = await registrationOptions(deps, user, CALLER);
  const result = await verifyRegistration(deps, user.id, CALLER, await authenticator.register(options));
  if (!result.ok) throw new Error(`registration refused: ${result.reason}`);
  return { authenticator, passkey: result.passkey };
}

/** Login options (with the user's email unless told otherwise) signed by `authenticator`. */
export async function signedLogin(
  deps: PasskeyDeps,
  authenticator: SoftwareAuthenticator,
  email?: string,
  knobs: Parameters<SoftwareAuthenticator["assert"]>[1] = {},
) {
  const { challengeId, options } = await loginOptions(deps, email);
  return { challengeId, options, response: await authenticator.assert(options, knobs) };
}
