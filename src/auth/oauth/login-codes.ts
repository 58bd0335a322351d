import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, gt, lte, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { oauthLoginCodes, users } from "../../db/schema";
import { randomToken, sha256Hex } from "../tokens";
import { clock, type OAuthDeps } from "./deps";
import type { ProviderIdentity } from "./identity";

export const LOGIN_CODE_TTL_SECONDS = 60;

/**
 * The one-time code the callback puts in the SPA's redirect instead of any
 * token: 256 random bits, stored as SHA-256, 60 seconds, bound to the PKCE
 * challenge the SPA sent to `/authorize` (or to POST /me/identities/:provider).
 * With `link`, it is a link code: it carries the identity the provider
 * asserted, and only POST /me/identities, signed in as `userId`, links it;
 * it never signs anyone in. Expired codes are swept in the same batch, which
 * also runs the caller's `also` (marking the identity used).
 */
export async function issueLoginCode(
  deps: Pick<OAuthDeps, "db" | "now">,
  grant: LoginCodeGrant,
  also: BatchItem<"sqlite">[] = [],
): Promise<string> {
  const { code, statements } = await newLoginCode(deps);
  await deps.db.batch([...statements(grant), ...also]);
  return code;
}

export type LoginCodeGrant = { userId: string; provider: string; codeChallenge: string; link?: ProviderIdentity };

/**
 * `issueLoginCode` in two halves: a fresh code now, and its statements (the
 * sweep, the insert) for a grant known later, for a caller that batches them
 * with its own writes (an account created with its first login code).
 */
export async function newLoginCode(deps: Pick<OAuthDeps, "db" | "now">) {
  const now = clock(deps);
  const code = randomToken();
  const codeHash = await sha256Hex(code);
  const statements = ({ link, ...bound }: LoginCodeGrant): [BatchItem<"sqlite">, BatchItem<"sqlite">] => [
    deps.db.delete(oauthLoginCodes).where(lte(oauthLoginCodes.expiresAt, new Date(now).toISOString())),
    deps.db.insert(oauthLoginCodes).values({
      codeHash,
      ...bound,
      ...(link && { purpose: "link", subject: link.subject, email: link.email, emailVerified: link.emailVerified }),
      expiresAt: new Date(now + LOGIN_CODE_TTL_SECONDS * 1000).toISOString(),
    }),
  ];
  return { code, statements };
}

/** Takes the unexpired code whose hash is `codeHash` if `condition` (its purpose, its owner) holds too: one DELETE … RETURNING. */
const takeCode = (deps: Pick<OAuthDeps, "db" | "now">, codeHash: string, condition: SQL | undefined) =>
  deps.db
    .delete(oauthLoginCodes)
    .where(
      and(
        eq(oauthLoginCodes.codeHash, codeHash),
        gt(oauthLoginCodes.expiresAt, new Date(clock(deps)).toISOString()),
        condition,
      ),
    )
    .returning({
      userId: oauthLoginCodes.userId,
      provider: oauthLoginCodes.provider,
      codeChallenge: oauthLoginCodes.codeChallenge,
      subject: oauthLoginCodes.subject,
      email: oauthLoginCodes.email,
      emailVerified: oauthLoginCodes.emailVerified,
    });

/**
 * Redeems a login code (`POST /oauth/token { code, codeVerifier }`). The code
 * is taken with one DELETE … RETURNING, so it is spent by the first attempt
 * whatever its verifier: parallel or replayed redemptions get nothing, and a
 * code read from a URL (history, Referer, logs) cannot be tried against many
 * verifiers. Only the verifier whose S256 is the stored challenge succeeds.
 * Only sign-in codes are taken: a link code never signs anyone in (its
 * identity was not linked, and the browser that brought it back may not be
 * the account owner's). The caller hands the account to the sign-in door,
 * which decides the rest (suspended, locked, MFA) exactly as for a password.
 * A wrong verifier still names the account (`verified: false`), so the
 * route can count the failure toward that account's lockout.
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
    takeCode(deps, codeHash, eq(oauthLoginCodes.purpose, "sign_in")),
  ]);
  const email = owner[0]?.email;
  if (!row || email === undefined) return null;
  const verified = await verifierMatches(codeVerifier, row.codeChallenge);
  return { userId: row.userId, email, provider: row.provider, verified };
}

/**
 * Redeems a link code (`POST /me/identities { code, codeVerifier }`): taken,
 * like a login code, by one DELETE … RETURNING and spent by the first try,
 * but only when it is a link code of `userId`, the signed-in caller, and
 * `holds` (the caller's session check) is true in the same statement. The
 * verifier is what binds the link to the browser that started it: a victim
 * lured into completing someone else's link flow lands with a code that
 * neither their session (not its account) nor anyone lacking the starter's
 * verifier can redeem. A sign-in code, another account's code or an expired
 * one is not taken and returns null, as does a wrong verifier (spent).
 */
export async function claimLinkCode(
  deps: Pick<OAuthDeps, "db" | "now">,
  code: string,
  codeVerifier: string,
  caller: { userId: string; holds: SQL },
): Promise<ProviderIdentity | null> {
  const mine = and(eq(oauthLoginCodes.purpose, "link"), eq(oauthLoginCodes.userId, caller.userId), caller.holds);
  const [row] = await takeCode(deps, await sha256Hex(code), mine);
  if (!row?.subject || !(await verifierMatches(codeVerifier, row.codeChallenge))) return null;
  return { provider: row.provider, subject: row.subject, email: row.email, emailVerified: row.emailVerified === true };
}

/** RFC 7636 verifiers are 43-128 characters; anything else cannot match and is not hashed. */
async function verifierMatches(verifier: string, challenge: string) {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return encodeBase64urlNoPadding(new Uint8Array(digest)) === challenge;
}
