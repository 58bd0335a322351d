import { decode, verifyWithJwks } from "hono/jwt";
import type { JWTPayload } from "hono/utils/jwt/types";
import { JwtPayloadRequiresAud, JwtTokenAudience, JwtTokenIssuer } from "hono/utils/jwt/types";
import type { OidcProvider } from "./config";
import { discover } from "./discovery";
import { type ProviderIdentity, providerEmail } from "./identity";
import { jwksKeys } from "./jwks";

/** Asymmetric only: `none` and every HMAC algorithm (the public-key-as-secret confusion) are refused before any key is looked up. */
export const ID_TOKEN_ALGORITHMS = ["RS256", "ES256"] as const;
const CLOCK_TOLERANCE_S = 60;
/** An ID token is a proof of a sign-in that just happened; an old one (even unexpired) is refused. */
const MAX_AGE_S = 60 * 60;

export type IdTokenResult =
  | { ok: true; identity: ProviderIdentity }
  | { ok: false; reason: "invalid_signature" | "invalid_claims" | "expired" | "nonce_mismatch" };

const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** exp, iat and nbf against our clock with a minute of tolerance for the provider's (Hono's checks have none). */
function timeProblem(payload: JWTPayload, nowS: number): "expired" | "invalid_claims" | null {
  if (!isTime(payload.exp) || !isTime(payload.iat)) return "invalid_claims";
  if (payload.exp + CLOCK_TOLERANCE_S <= nowS) return "expired";
  if (payload.iat > nowS + CLOCK_TOLERANCE_S) return "invalid_claims";
  if (nowS - payload.iat > MAX_AGE_S) return "expired";
  if (payload.nbf !== undefined && (!isTime(payload.nbf) || payload.nbf > nowS + CLOCK_TOLERANCE_S))
    return "invalid_claims";
  return null;
}

/**
 * Verifies an OpenID Connect ID token from `provider` with Hono's JWT
 * helpers (already in the bundle): signature against the provider's JWKS
 * (RS256 or ES256 only), `iss` exactly the configured issuer, `aud` one of
 * the entry's client ids, `exp`, `iat` (present, not in the future, at most
 * an hour old), `nbf`, and `nonce` when one is expected (the browser flow
 * always expects the one it stored; a native app sends its own). Returns
 * the identity it asserts; `emailVerified` is true only for
 * `email_verified: true` (or the string "true" some providers send).
 */
export async function verifyIdToken(
  provider: OidcProvider,
  idToken: string,
  expected: { nonce?: string | null; now?: number; jwksCooldownMs?: number; jwksUri?: string },
): Promise<IdTokenResult> {
  const now = expected.now ?? Date.now();
  let kid: string | undefined;
  try {
    kid = decode(idToken).header.kid;
  } catch {
    return { ok: false, reason: "invalid_signature" };
  }
  // The callback passes what it discovered already: one discovery per request.
  const jwksUri = expected.jwksUri ?? (await discover(provider, now)).jwksUri;
  const keys = await jwksKeys(jwksUri, kid, now, expected.jwksCooldownMs);
  let payload: JWTPayload;
  try {
    payload = await verifyWithJwks(idToken, {
      keys,
      allowedAlgorithms: ID_TOKEN_ALGORITHMS,
      // Times are checked below against `now`, with tolerance.
      verification: { iss: provider.issuer, aud: provider.audiences, exp: false, nbf: false, iat: false },
    });
  } catch (error) {
    const claims =
      error instanceof JwtTokenIssuer || error instanceof JwtTokenAudience || error instanceof JwtPayloadRequiresAud;
    return { ok: false, reason: claims ? "invalid_claims" : "invalid_signature" };
  }
  const problem = timeProblem(payload, Math.floor(now / 1000));
  if (problem) return { ok: false, reason: problem };
  if (expected.nonce != null && payload.nonce !== expected.nonce) return { ok: false, reason: "nonce_mismatch" };
  if (typeof payload.sub !== "string" || payload.sub === "" || payload.sub.length > 255)
    return { ok: false, reason: "invalid_claims" };
  const email = providerEmail(payload.email);
  const verified = payload.email_verified === true || payload.email_verified === "true";
  return {
    ok: true,
    identity: { provider: provider.id, subject: payload.sub, email, emailVerified: email !== null && verified },
  };
}
