import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import { passkeyCredentials, users, webauthnUserHandles } from "../../db/schema";
import { hmacSha256 } from "../tokens";
import { parseAuthenticatorData } from "./authenticator-data";
import { challengeStatements, claimLoginChallenge } from "./challenges";
import { type CeremonyFailure, checkAuthenticatorData, readClientData } from "./client-data";
import { CHALLENGE_TTL_SECONDS, clock, type PasskeyDeps } from "./deps";
import { verifySignature } from "./public-key";
import type { AuthenticationResponseJSON } from "./schemas";

/**
 * PublicKeyCredentialRequestOptions (JSON form) and the challenge's id.
 *
 * With an email, `allowCredentials` lists the account's passkeys; an unknown
 * email, or an account without passkeys, gets stand-in ids derived from
 * the email under the server key (`decoyCredentialIds`): the same every time, and shaped like
 * real ones (transports are left out for all), so the answer does not tell
 * which emails have accounts. The same
 * one query runs either way. Without an email the list is empty: the browser
 * offers the discoverable passkeys it holds for this RP (conditional UI).
 */
export async function loginOptions(deps: PasskeyDeps, email?: string) {
  // The account the email names is read inside the challenge's own INSERT, and its passkeys in the
  // same batch: one round trip, whether or not the email has an account.
  const { challengeId, challenge, statements } = challengeStatements(
    deps,
    "login",
    email === undefined ? null : sql`(select ${users.id} from ${users} where ${users.email} = ${email})`,
  );
  let allowCredentials: { id: string; type: "public-key" }[] = [];
  if (email === undefined) await deps.db.batch(statements);
  else {
    const [[, , found], decoys] = await Promise.all([
      deps.db.batch([
        ...statements,
        deps.db
          .select({ id: passkeyCredentials.id })
          .from(passkeyCredentials)
          .innerJoin(users, eq(users.id, passkeyCredentials.userId))
          .where(eq(users.email, email)),
      ]),
      decoyCredentialIds(deps.decoyKey, email),
    ]);
    const real = found.map((r) => r.id);
    // No transports: what a real passkey reported would tell it from the stand-in.
    allowCredentials = (real.length ? real : decoys).map((id) => ({ id, type: "public-key" as const }));
  }
  return {
    challengeId,
    options: {
      challenge,
      rpId: deps.config.rpId,
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      userVerification: "required" as const,
      allowCredentials,
    },
  };
}

/**
 * Stand-in credential ids for an email without passkeys: 32 bytes each (a
 * platform passkey's id length) of HMAC-SHA-256(server key, "passkey-decoy:"
 * + email + index), the same every time. Their number (1 to 3, most often 1)
 * also comes from the email, so a list of two ids does not reveal an account.
 */
async function decoyCredentialIds(key: string, email: string): Promise<string[]> {
  const seed = await hmacSha256(key, `passkey-decoy-count:${email.toLowerCase()}`);
  const count = (seed[0] ?? 0) < 170 ? 1 : (seed[0] ?? 0) < 235 ? 2 : 3;
  const ids = [];
  for (let i = 0; i < count; i++) {
    ids.push(encodeBase64urlNoPadding(await hmacSha256(key, `passkey-decoy:${email.toLowerCase()}:${i}`)));
  }
  return ids;
}

export type PasskeyLoginResult =
  | { ok: true; userId: string; passkeyId: string; userVerified: true }
  | { ok: false; reason: CeremonyFailure; userId?: string; passkeyId?: string };

/** What `claimAssertion` found: the spent challenge and the credential the response names (with its owner's email). */
export type ClaimedAssertion = Awaited<ReturnType<typeof claimAssertion>>;

/**
 * Claims the challenge (single use, spent even when what follows fails) and
 * looks up the credential the response names with its owner's email, in one
 * batch. The route counts the attempt toward that account's lockout between
 * this and `checkAssertion`.
 */
export async function claimAssertion(deps: PasskeyDeps, challengeId: string, response: AuthenticationResponseJSON) {
  const [claimed, found] = await deps.db.batch(assertionStatements(deps, challengeId, response));
  return { claimed: claimed[0] ?? null, stored: found[0] ?? null };
}

/**
 * The statements of `claimAssertion`, unexecuted, for a caller that sends them
 * in a batch of its own. With a signed-in `caller` both are bound to it: the
 * claim takes only a challenge issued without an email or for the caller's own
 * account, and only while `holds` (the guard's condition: the claim may then
 * ride in the guard's round trip, and a dead session spends nothing); the
 * lookup finds only the caller's own passkeys, so another account's credential
 * is never read, let alone its counter moved.
 */
export function assertionStatements(
  deps: Pick<PasskeyDeps, "db" | "now">,
  challengeId: string,
  response: AuthenticationResponseJSON,
  caller?: { userId: string; holds: SQL },
) {
  const claim = claimLoginChallenge(deps, challengeId, caller);
  const lookup = deps.db
    .select({
      id: passkeyCredentials.id,
      userId: passkeyCredentials.userId,
      email: users.email,
      publicKey: passkeyCredentials.publicKey,
      algorithm: passkeyCredentials.algorithm,
      counter: passkeyCredentials.counter,
      handle: webauthnUserHandles.handle,
    })
    .from(passkeyCredentials)
    .innerJoin(users, eq(users.id, passkeyCredentials.userId))
    .leftJoin(webauthnUserHandles, eq(webauthnUserHandles.userId, passkeyCredentials.userId))
    .where(
      and(eq(passkeyCredentials.id, response.id), caller ? eq(passkeyCredentials.userId, caller.userId) : undefined),
    );
  return [claim, lookup] as [typeof claim, typeof lookup];
}

/** A signature that verified, with the counter move still to be stored (`counterMove`). */
export type CheckedAssertion = {
  ok: true;
  userId: string;
  passkeyId: string;
  userVerified: true;
  /** The counter read with the credential, and the one the authenticator signed (moved forward, or both 0). */
  counter: { from: number; to: number };
};

/**
 * Verifies a login assertion against what `claimAssertion` found, in order:
 * the challenge was live, the credential exists and belongs to the account
 * the email named (when one did), the user handle is that account's,
 * clientDataJSON (type, challenge, exact origin), authenticatorData (RP ID
 * hash, UP, UV), the signature over authenticatorData ‖ SHA-256(clientDataJSON),
 * and last the counter: it must move forward from the one read (or both be
 * 0, an authenticator that keeps no counter). A counter that went backwards
 * means a cloned authenticator: refused, with the user and passkey ids
 * returned so the caller audits it. Nothing is written: the caller stores
 * the move with `counterMove` (conditional on the counter it read).
 */
export async function checkSignature(
  deps: PasskeyDeps,
  { claimed, stored }: ClaimedAssertion,
  response: AuthenticationResponseJSON,
): Promise<CheckedAssertion | Extract<PasskeyLoginResult, { ok: false }>> {
  const fail = (reason: CeremonyFailure, ids: { userId?: string; passkeyId?: string } = {}) => ({
    ok: false as const,
    reason,
    ...ids,
  });
  if (!claimed) return fail("challenge");
  const decoded = decodeAssertion(response);
  if (!decoded) return fail("malformed");
  if (!stored || response.rawId !== response.id) return fail("unknown_credential");
  const ids = { userId: stored.userId, passkeyId: stored.id };
  if (claimed.userId !== null && claimed.userId !== stored.userId) return fail("wrong_user", ids);
  if (response.response.userHandle !== undefined && response.response.userHandle !== stored.handle)
    return fail("wrong_user", ids);

  const clientData = readClientData(deps.config, decoded.clientDataJSON, "get");
  if (!clientData.ok) return fail(clientData.reason, ids);
  if (clientData.challenge !== claimed.challenge) return fail("challenge", ids);
  const refused = await checkAuthenticatorData(deps.config, decoded.authenticatorData);
  if (refused) return fail(refused, ids);
  // What the authenticator signed: authenticatorData ‖ SHA-256(clientDataJSON).
  const clientDataHash = new Uint8Array(await crypto.subtle.digest("SHA-256", decoded.clientDataJSON));
  const message = new Uint8Array([...decoded.authData, ...clientDataHash]);
  const key = { algorithm: stored.algorithm, jwk: JSON.parse(stored.publicKey) as JsonWebKey };
  if (!(await verifySignature(key, decoded.signature, message))) return fail("signature", ids);

  const counter = decoded.authenticatorData.signCount;
  if (!(counter > stored.counter || (counter === 0 && stored.counter === 0))) return fail("counter_regression", ids);
  return { ok: true, ...ids, userVerified: true, counter: { from: stored.counter, to: counter } };
}

/**
 * The counter move of a checked assertion: one UPDATE conditional on the
 * counter read, storing the new one with `last_used_at` (a parallel use of
 * the same counter loses it). `holds` is true while the counter is still the
 * one read, for writes batched before it; `raced` once another use moved it
 * (true for every statement after the move itself, so put those before it).
 */
export function counterMove(
  deps: Pick<PasskeyDeps, "db" | "now">,
  checked: CheckedAssertion,
  /** What the move must also still see (a step-up's session and proof), so it lands exactly when the proof does. */
  condition?: SQL,
) {
  const unchanged = and(
    eq(passkeyCredentials.id, checked.passkeyId),
    eq(passkeyCredentials.userId, checked.userId),
    eq(passkeyCredentials.counter, checked.counter.from),
  );
  const moved = and(eq(passkeyCredentials.id, checked.passkeyId), ne(passkeyCredentials.counter, checked.counter.from));
  return {
    holds: sql`exists (select 1 from ${passkeyCredentials} where ${unchanged})`,
    raced: sql`exists (select 1 from ${passkeyCredentials} where ${moved})`,
    statement: deps.db
      .update(passkeyCredentials)
      .set({ counter: checked.counter.to, lastUsedAt: new Date(clock(deps)).toISOString() })
      .where(and(unchanged, condition))
      .returning({ id: passkeyCredentials.id }),
  };
}

/** `checkSignature`, then the counter move on its own: a counter that lost a race is a `counter_regression`. */
export async function checkAssertion(
  deps: PasskeyDeps,
  found: ClaimedAssertion,
  response: AuthenticationResponseJSON,
): Promise<PasskeyLoginResult> {
  const checked = await checkSignature(deps, found, response);
  if (!checked.ok) return checked;
  const moved = await counterMove(deps, checked).statement;
  if (moved.length === 0) {
    return { ok: false, reason: "counter_regression", userId: checked.userId, passkeyId: checked.passkeyId };
  }
  return { ok: true, userId: checked.userId, passkeyId: checked.passkeyId, userVerified: true };
}

/** `claimAssertion` then `checkAssertion`: a whole login assertion, for callers with nothing to do in between. */
export async function verifyPasskeyLogin(
  deps: PasskeyDeps,
  challengeId: string,
  response: AuthenticationResponseJSON,
): Promise<PasskeyLoginResult> {
  return checkAssertion(deps, await claimAssertion(deps, challengeId, response), response);
}

function decodeAssertion(response: AuthenticationResponseJSON) {
  try {
    const clientDataJSON = decodeBase64urlIgnorePadding(response.response.clientDataJSON);
    const authData = decodeBase64urlIgnorePadding(response.response.authenticatorData);
    const signature = decodeBase64urlIgnorePadding(response.response.signature);
    const authenticatorData = parseAuthenticatorData(authData);
    return authenticatorData && { clientDataJSON, authData, signature, authenticatorData };
  } catch {
    return null;
  }
}
