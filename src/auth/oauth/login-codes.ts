import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, gt, lte } from "drizzle-orm";
import { oauthLoginCodes } from "../../db/schema";
import { randomToken, sha256Hex } from "../tokens";
import { clock, type OAuthDeps } from "./deps";

export const LOGIN_CODE_TTL_SECONDS = 60;

/**
 * The one-time code the callback puts in the SPA's redirect instead of any
 * token: 256 random bits, stored as SHA-256, 60 seconds, bound to the PKCE
 * challenge the SPA sent to `/authorize`. Expired codes are swept in the
 * same batch.
 */
export async function issueLoginCode(
  deps: Pick<OAuthDeps, "db" | "now">,
  grant: { userId: string; provider: string; codeChallenge: string },
): Promise<string> {
  const now = clock(deps);
  const code = randomToken();
  await deps.db.batch([
    deps.db.delete(oauthLoginCodes).where(lte(oauthLoginCodes.expiresAt, new Date(now).toISOString())),
    deps.db.insert(oauthLoginCodes).values({
      codeHash: await sha256Hex(code),
      ...grant,
      expiresAt: new Date(now + LOGIN_CODE_TTL_SECONDS * 1000).toISOString(),
    }),
  ]);
  return code;
}

/**
 * Redeems a login code (`POST /oauth/token { code, codeVerifier }`). The code
 * is taken with one DELETE … RETURNING, so it is spent by the first attempt
 * whatever its verifier: parallel or replayed redemptions get nothing, and a
 * code read from a URL (history, Referer, logs) cannot be tried against many
 * verifiers. Only the verifier whose S256 is the stored challenge succeeds.
 * The caller hands the user id to the sign-in door, which decides the rest
 * (suspended, locked, MFA) exactly as for a password.
 */
export async function claimLoginCode(
  deps: Pick<OAuthDeps, "db" | "now">,
  code: string,
  codeVerifier: string,
): Promise<{ userId: string; provider: string } | null> {
  const [row] = await deps.db
    .delete(oauthLoginCodes)
    .where(
      and(
        eq(oauthLoginCodes.codeHash, await sha256Hex(code)),
        gt(oauthLoginCodes.expiresAt, new Date(clock(deps)).toISOString()),
      ),
    )
    .returning({
      userId: oauthLoginCodes.userId,
      provider: oauthLoginCodes.provider,
      codeChallenge: oauthLoginCodes.codeChallenge,
    });
  if (!row || !(await verifierMatches(codeVerifier, row.codeChallenge))) return null;
  return { userId: row.userId, provider: row.provider };
}

/** RFC 7636 verifiers are 43-128 characters; anything else cannot match and is not hashed. */
async function verifierMatches(verifier: string, challenge: string) {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return encodeBase64urlNoPadding(new Uint8Array(digest)) === challenge;
}
