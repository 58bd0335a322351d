import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import { eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { insertWhere } from "../../db/insert-where";
import { passkeyCredentials } from "../../db/schema";
import { parseAuthenticatorData } from "./authenticator-data";
import { decodeCborExactly } from "./cbor";
import { type ChallengeCaller, challengeStatements, claimRegistrationChallenge } from "./challenges";
import { type CeremonyFailure, checkAuthenticatorData, readClientData } from "./client-data";
import { CHALLENGE_TTL_SECONDS, clock, type PasskeyDeps, SUPPORTED_ALGORITHMS } from "./deps";
import { type Passkey, passkeyColumns } from "./present";
import { storedKeyFromCose } from "./public-key";
import type { RegistrationResponseJSON } from "./schemas";
import { handleOf, userHandleStatements } from "./user-handle";

/** The default name of a passkey registered without one. */
export const DEFAULT_PASSKEY_NAME = "Passkey";

/**
 * PublicKeyCredentialCreationOptions (JSON form) for a signed-in account: a
 * fresh challenge bound to it and to the asking session and token, its opaque user handle (the email is only the
 * label the authenticator shows), ES256, EdDSA and RS256, a discoverable
 * credential preferred, user verification required, attestation "none" (we
 * trust the signature, not the device maker), and the account's passkeys
 * excluded so one authenticator is not registered twice.
 */
export async function registrationOptions(
  deps: PasskeyDeps,
  user: { id: string; email: string; username: string },
  caller: ChallengeCaller,
  {
    condition,
    send = (statements) => deps.db.batch(statements as [BatchItem<"sqlite">]),
  }: { condition?: SQL; send?: (statements: BatchItem<"sqlite">[]) => Promise<unknown[]> } = {},
) {
  // One batch: the handle (made on first use), the passkeys to exclude, the challenge (only while `condition`
  // holds: the step-up proof behind it). `send`: a step-up proof's, which adds its own statements.
  const { challenge, statements } = challengeStatements(deps, "register", user.id, condition, caller);
  const [, handleRows, existing] = (await send([
    ...userHandleStatements(deps.db, user.id),
    deps.db
      .select({ id: passkeyCredentials.id, transports: passkeyCredentials.transports })
      .from(passkeyCredentials)
      .where(eq(passkeyCredentials.userId, user.id)),
    ...statements,
  ])) as [unknown, { handle: string }[], { id: string; transports: string[] | null }[]];
  const handle = handleOf(handleRows);
  return {
    challenge,
    rp: { id: deps.config.rpId, name: deps.config.rpName },
    user: { id: handle, name: user.email, displayName: user.username },
    pubKeyCredParams: SUPPORTED_ALGORITHMS.map((alg) => ({ type: "public-key" as const, alg })),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    attestation: "none" as const,
    authenticatorSelection: {
      residentKey: "preferred" as const,
      requireResidentKey: false,
      userVerification: "required" as const,
    },
    excludeCredentials: existing.map((c) => ({
      id: c.id,
      type: "public-key" as const,
      ...(c.transports ? { transports: c.transports } : {}),
    })),
  };
}

/** `session_ended`: the caller's session ended (or the account was suspended) between the claim and the insert. */
export type RegistrationResult =
  | { ok: true; passkey: Passkey }
  | { ok: false; reason: CeremonyFailure | "session_ended" };

/**
 * Verifies a registration response and stores the passkey. The challenge is
 * claimed first (DELETE … RETURNING, only for this account, session and
 * access token), so it is spent
 * whatever happens next and a replay finds nothing. Then: the attestation
 * object (any format; its statement is not checked, as conveyance "none"
 * asks), RP ID hash, UP and UV, the credential id the browser reported, an
 * offered algorithm. A credential id already registered, to anyone, is
 * refused by the INSERT itself (ON CONFLICT DO NOTHING … RETURNING).
 * `holds` (the caller's session condition) rides in the INSERT, and `also`
 * (the audit line, built for the new id) in its batch, run first and only
 * while `holds` holds and the id is not yet stored: one round trip, and no
 * passkey lands for a session that ended after the guard's check.
 */
export async function verifyRegistration(
  deps: PasskeyDeps,
  userId: string,
  caller: ChallengeCaller,
  response: RegistrationResponseJSON,
  name?: string,
  { holds = sql`1`, also }: { holds?: SQL; also?: (holds: SQL) => BatchItem<"sqlite"> } = {},
): Promise<RegistrationResult> {
  const fail = (reason: CeremonyFailure | "session_ended"): RegistrationResult => ({ ok: false, reason });
  const clientDataJSON = decodeBytes(response.response.clientDataJSON);
  if (!clientDataJSON) return fail("malformed");
  const clientData = readClientData(deps.config, clientDataJSON, "create");
  // Spent first, even by a response refused below: a challenge serves one attempt.
  const claimed =
    clientData.challenge !== undefined &&
    (await claimRegistrationChallenge(deps, userId, caller, clientData.challenge, holds));
  if (!clientData.ok) return fail(clientData.reason);
  if (!claimed) return fail("challenge");

  const authenticatorData = readAttestedData(response.response.attestationObject);
  if (!authenticatorData) return fail("malformed");
  const refused = await checkAuthenticatorData(deps.config, authenticatorData);
  if (refused) return fail(refused);
  const credential = authenticatorData.credential;
  if (!credential || encodeBase64urlNoPadding(credential.id) !== response.id || response.id !== response.rawId)
    return fail("malformed");
  const key = await storedKeyFromCose(credential.publicKey);
  if (!key) return fail("algorithm");

  const { db } = deps;
  const stored = {
    id: response.id,
    userId,
    name: name?.trim() || DEFAULT_PASSKEY_NAME,
    publicKey: JSON.stringify(key.jwk),
    algorithm: key.algorithm,
    counter: authenticatorData.signCount,
    backedUp: authenticatorData.backedUp,
    deviceType: authenticatorData.backupEligible ? "multiDevice" : "singleDevice",
    transports: response.response.transports ?? null,
    createdAt: new Date(clock(deps)).toISOString(),
    lastUsedAt: null,
  };
  const unused = sql`not exists (select 1 from ${passkeyCredentials} where ${passkeyCredentials.id} = ${response.id})`;
  const insert = insertWhere(db, passkeyCredentials, stored, holds).onConflictDoNothing().returning(passkeyColumns);
  // Read after the insert in the same batch: a refusal because the session ended meanwhile is told apart.
  const session = db.select({ holds: sql<number>`${holds}` }).from(sql`(select 1)`);
  const [, [row], [still]] = also
    ? await db.batch([also(sql`${holds} and ${unused}`), insert, session])
    : [undefined, ...(await db.batch([insert, session]))];
  if (!row) return fail(still?.holds ? "credential_exists" : "session_ended");
  return { ok: true, passkey: row };
}

const decodeBytes = (base64url: string) => {
  try {
    return decodeBase64urlIgnorePadding(base64url);
  } catch {
    return null;
  }
};

/** authenticatorData from an attestation object (a CBOR map), or null when it is not one. */
function readAttestedData(attestationObject: string) {
  try {
    const bytes = decodeBase64urlIgnorePadding(attestationObject);
    const attestation = decodeCborExactly(bytes, 4) as { authData?: unknown } | null;
    if (!(attestation?.authData instanceof Uint8Array)) return null;
    return parseAuthenticatorData(attestation.authData);
  } catch {
    return null;
  }
}
