import { errors, jwtVerify } from "jose";
import type { OidcProvider } from "./config";
import { discover } from "./discovery";
import type { ProviderIdentity } from "./identity";
import { jwksKeys } from "./jwks";

/** Asymmetric only: `none` and every HMAC algorithm (the public-key-as-secret confusion) are refused before any key is looked up. */
export const ID_TOKEN_ALGORITHMS = ["RS256", "ES256"];
const CLOCK_TOLERANCE_S = 60;
/** An ID token is a proof of a sign-in that just happened; an old one (even unexpired) is refused. */
const MAX_AGE_S = 60 * 60;

export type IdTokenResult =
  | { ok: true; identity: ProviderIdentity }
  | { ok: false; reason: "invalid_signature" | "invalid_claims" | "expired" | "nonce_mismatch" };

/**
 * Verifies an OpenID Connect ID token from `provider`: signature against the
 * provider's JWKS (RS256 or ES256 only), `iss` exactly the configured issuer,
 * `aud` one of the entry's client ids, `exp`, `iat` (present, not in the
 * future, at most an hour old), and `nonce` when one is expected (the
 * browser flow always expects the one it stored; a native app sends its
 * own). Returns the identity it asserts; `emailVerified` is true only for
 * `email_verified: true` (or the string "true" some providers send).
 */
export async function verifyIdToken(
  provider: OidcProvider,
  idToken: string,
  expected: { nonce?: string | null; now?: number; jwksCooldownMs?: number },
): Promise<IdTokenResult> {
  const now = expected.now ?? Date.now();
  const { jwksUri } = await discover(provider, now);
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(idToken, jwksKeys(jwksUri, now, expected.jwksCooldownMs), {
      algorithms: ID_TOKEN_ALGORITHMS,
      issuer: provider.issuer,
      audience: provider.audiences,
      requiredClaims: ["sub", "exp", "iat"],
      maxTokenAge: MAX_AGE_S,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(now),
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    if (error instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: "invalid_claims" };
    return { ok: false, reason: "invalid_signature" };
  }
  if (expected.nonce != null && payload.nonce !== expected.nonce) return { ok: false, reason: "nonce_mismatch" };
  if (typeof payload.sub !== "string" || payload.sub === "" || payload.sub.length > 255)
    return { ok: false, reason: "invalid_claims" };
  const email = typeof payload.email === "string" && payload.email.length <= 254 ? payload.email.toLowerCase() : null;
  const verified = payload.email_verified === true || payload.email_verified === "true";
  return {
    ok: true,
    identity: { provider: provider.id, subject: payload.sub, email, emailVerified: email !== null && verified },
  };
}
