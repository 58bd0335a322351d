import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, sql } from "drizzle-orm";
import { passkeyCredentials, users, webauthnUserHandles } from "../../db/schema";
import { hmacSha256 } from "../tokens";
import { parseAuthenticatorData } from "./authenticator-data";
import { claimLoginChallenge, issueChallenge } from "./challenges";
import { type CeremonyFailure, checkAuthenticatorData, readClientData } from "./client-data";
import { CHALLENGE_TTL_SECONDS, clock, type PasskeyDeps } from "./deps";
import { verifySignature } from "./public-key";
import type { AuthenticationResponseJSON } from "./schemas";

/**
 * PublicKeyCredentialRequestOptions (JSON form) and the challenge's id.
 *
 * With an email, `allowCredentials` lists the account's passkeys; an unknown
 * email, or an account without passkeys, gets one stand-in id derived from
 * the email under the server key: the same every time, and shaped like a
 * real one (transports are left out for all), so the answer does not tell
 * which emails have accounts. The same
 * one query runs either way. Without an email the list is empty: the browser
 * offers the discoverable passkeys it holds for this RP (conditional UI).
 */
export async function loginOptions(deps: PasskeyDeps, email?: string) {
  let userId: string | null = null;
  let allowCredentials: { id: string; type: "public-key" }[] | undefined;
  if (email !== undefined) {
    const [found, decoy] = await Promise.all([
      deps.db
        .select({ userId: users.id, id: passkeyCredentials.id })
        .from(users)
        .leftJoin(passkeyCredentials, eq(passkeyCredentials.userId, users.id))
        .where(eq(users.email, email)),
      decoyCredentialId(deps.decoyKey, email),
    ]);
    userId = found[0]?.userId ?? null;
    const real = found.flatMap((r) => (r.id ? [r.id] : []));
    // No transports: what a real passkey reported would tell it from the stand-in.
    allowCredentials = (real.length ? real : [decoy]).map((id) => ({ id, type: "public-key" as const }));
  }
  const { challengeId, challenge } = await issueChallenge(deps, "login", userId);
  return {
    challengeId,
    options: {
      challenge,
      rpId: deps.config.rpId,
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      userVerification: "required" as const,
      allowCredentials: allowCredentials ?? [],
    },
  };
}

/** 32 bytes of HMAC-SHA-256(server key, "passkey-decoy:" + email), the length of a platform passkey's id. */
async function decoyCredentialId(key: string, email: string): Promise<string> {
  return encodeBase64urlNoPadding(await hmacSha256(key, `passkey-decoy:${email.toLowerCase()}`));
}

export type PasskeyLoginResult =
  | { ok: true; userId: string; passkeyId: string; userVerified: true }
  | { ok: false; reason: CeremonyFailure; userId?: string; passkeyId?: string };

/**
 * Verifies a login assertion. The challenge is claimed first (single use,
 * spent even when what follows fails). Then, in order: the credential
 * exists and belongs to the account the email named (when one did), the
 * user handle is that account's, clientDataJSON (type, challenge, exact
 * origin), authenticatorData (RP ID hash, UP, UV), the signature over
 * authenticatorData ‖ SHA-256(clientDataJSON), and last the counter: one
 * conditional UPDATE stores it only if it moved forward (or both it and the
 * stored one are 0, an authenticator that keeps no counter). A counter that
 * went backwards means a cloned authenticator: refused, with the user and
 * passkey ids returned so the caller audits it. On ok the caller hands
 * `userId` to the sign-in door with the factors ["passkey"] (UV: two factors).
 */
export async function verifyPasskeyLogin(
  deps: PasskeyDeps,
  challengeId: string,
  response: AuthenticationResponseJSON,
): Promise<PasskeyLoginResult> {
  const fail = (reason: CeremonyFailure, ids: { userId?: string; passkeyId?: string } = {}): PasskeyLoginResult => ({
    ok: false,
    reason,
    ...ids,
  });
  const claimed = await claimLoginChallenge(deps, challengeId);
  if (!claimed) return fail("challenge");
  const decoded = decodeAssertion(response);
  if (!decoded) return fail("malformed");

  const [stored] = await deps.db
    .select({
      id: passkeyCredentials.id,
      userId: passkeyCredentials.userId,
      publicKey: passkeyCredentials.publicKey,
      algorithm: passkeyCredentials.algorithm,
      handle: webauthnUserHandles.handle,
    })
    .from(passkeyCredentials)
    .leftJoin(webauthnUserHandles, eq(webauthnUserHandles.userId, passkeyCredentials.userId))
    .where(eq(passkeyCredentials.id, response.id));
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
  const moved = await deps.db
    .update(passkeyCredentials)
    .set({ counter, lastUsedAt: new Date(clock(deps)).toISOString() })
    .where(
      and(
        eq(passkeyCredentials.id, stored.id),
        eq(passkeyCredentials.userId, stored.userId),
        sql`((${counter} = 0 and ${passkeyCredentials.counter} = 0) or ${passkeyCredentials.counter} < ${counter})`,
      ),
    )
    .returning({ id: passkeyCredentials.id });
  if (moved.length === 0) return fail("counter_regression", ids);
  return { ok: true, userId: stored.userId, passkeyId: stored.id, userVerified: true };
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
