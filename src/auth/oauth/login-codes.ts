import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, gt, lte } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { oauthLoginCodes, users } from "../../db/schema";
import { randomToken, sha256Hex } from "../tokens";
import { clock, type OAuthDeps } from "./deps";

export const LOGIN_CODE_TTL_SECONDS = 60;

/**
 * The one-time code the callback puts in the SPA's redirect instead of any
 * token: 256 random bits, stored as SHA-256, 60 seconds, bound to the PKCE
 * challenge the SPA sent to `/authorize`. Expired codes are swept in the
 * same batch, which also runs the caller's `also` (marking the identity used).
 */
export async function issueLoginCode(
  deps: Pick<OAuthDeps, "db" | "now">,
  grant: { userId: string; provider: string; codeChallenge: string },
  also: BatchItem<"sqlite">[] = [],
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
    ...also,
  ]);
  return code;
}

/**
 * Redeems a login code (`POST /oauth/token { code, codeVerifier }`). The code
 * is taken with one DELETE … RETURNING, so it is spent by the first attempt
 * whatever its verifier: parallel or replayed redemptions get nothing, and a
 * code read from a URL (history, Referer, logs) cannot be tried against many
 * verifiers. Only the verifier whose S256 is the stored challenge succeeds.
 * The caller hands the account to the sign-in door, which decides the rest
 * (suspended, locked, MFA) exactly as for a password. A wrong verifier
 * still names the account (`verified: false`), so the route can count the
 * failure toward that account's lockout.
 */
export async function claimLoginCode(
  deps: Pick<OAuthDeps, "db" | "now">,
  code: string,
  codeVerifier: string,
): Promise<{ userId: string; email: string; provider: string; verified: boolean } | null> {
  const { db } = deps;
  const codeHash = await sha256Hex(code);
  // The owner's email is read before the code is taken, in the same batch (one round trip).
  const [owner, [row]] = await db.batch([
    db
      .select({ email: users.email })
      .from(oauthLoginCodes)
      .innerJoin(users, eq(users.id, oauthLoginCodes.userId))
      .where(eq(oauthLoginCodes.codeHash, codeHash)),
    db
      .delete(oauthLoginCodes)
      .where(
        and(eq(oauthLoginCodes.codeHash, codeHash), gt(oauthLoginCodes.expiresAt, new Date(clock(deps)).toISOString())),
      )
      .returning({
        userId: oauthLoginCodes.userId,
        provider: oauthLoginCodes.provider,
        codeChallenge: oauthLoginCodes.codeChallenge,
      }),
  ]);
  const email = owner[0]?.email;
  if (!row || email === undefined) return null;
  const verified = await verifierMatches(codeVerifier, row.codeChallenge);
  return { userId: row.userId, email, provider: row.provider, verified };
}

/** RFC 7636 verifiers are 43-128 characters; anything else cannot match and is not hashed. */
async function verifierMatches(verifier: string, challenge: string) {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return encodeBase64urlNoPadding(new Uint8Array(digest)) === challenge;
}
