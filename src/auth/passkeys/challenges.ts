import { and, eq, gt, isNull, lte, or, type SQL } from "drizzle-orm";
import { insertWhere } from "../../db/insert-where";
import { webauthnChallenges } from "../../db/schema";
import { randomToken } from "../tokens";
import { CHALLENGE_TTL_SECONDS, clock, type PasskeyDeps } from "./deps";

export type ChallengePurpose = "register" | "login";

/**
 * Who asked for a registration challenge: the session and the access token
 * (`jti`; undefined for a token signed before it existed, which then can
 * never use it). The options need step-up, which is bound to that token, so
 * the challenge is too: another session, or another token of this session
 * (a thief who refreshed a stolen refresh token), cannot register with it.
 */
export type ChallengeCaller = { sessionId: string; tokenId?: string };

/**
 * The statements that store a fresh 256-bit challenge for 5 minutes and sweep
 * expired ones (login options are asked for before sign-in, so the table must
 * not grow with them; the routes rate-limit per network). Returned unexecuted
 * so a caller can batch them with its own reads; `userId` may be a subquery.
 */
export function challengeStatements(
  deps: Pick<PasskeyDeps, "db" | "now">,
  purpose: ChallengePurpose,
  userId: string | SQL | null,
  /** What the challenge's insert must still see (a registration's step-up proof); none by default. */
  condition?: SQL,
  /** A registration's caller: only it may claim the challenge (`claimRegistrationChallenge`). */
  caller?: ChallengeCaller,
) {
  const now = clock(deps);
  const challenge = randomToken();
  const challengeId = randomToken();
  const row = {
    id: challengeId,
    purpose,
    challenge,
    userId,
    expiresAt: new Date(now + CHALLENGE_TTL_SECONDS * 1000).toISOString(),
    sessionId: caller?.sessionId ?? null,
    tokenId: caller?.tokenId ?? null,
  };
  const statements = [
    deps.db.delete(webauthnChallenges).where(lte(webauthnChallenges.expiresAt, new Date(now).toISOString())),
    condition
      ? insertWhere(deps.db, webauthnChallenges, row, condition)
      : deps.db.insert(webauthnChallenges).values(row),
  ] as const;
  return { challengeId, challenge, statements };
}

/**
 * Claims a login challenge by its id: one DELETE … RETURNING, so of any
 * number of parallel or replayed uses exactly one gets the row, and the
 * challenge is spent whether or not the assertion then verifies. Returned
 * unexecuted, to go in one batch with the credential's lookup. With a
 * signed-in `caller` (step-up), only a challenge issued without an email or
 * for the caller's account is taken, and only while `holds`: another
 * account's challenge stays its owner's, and a dead session spends nothing.
 */
export const claimLoginChallenge = (
  deps: Pick<PasskeyDeps, "db" | "now">,
  challengeId: string,
  caller?: { userId: string; holds: SQL },
) =>
  deps.db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.id, challengeId),
        eq(webauthnChallenges.purpose, "login"),
        gt(webauthnChallenges.expiresAt, new Date(clock(deps)).toISOString()),
        caller && or(isNull(webauthnChallenges.userId), eq(webauthnChallenges.userId, caller.userId)),
        caller?.holds,
      ),
    )
    .returning({ challenge: webauthnChallenges.challenge, userId: webauthnChallenges.userId });

/**
 * Claims a registration challenge by its value (the one the browser signed in
 * clientDataJSON), only for the account, session and access token it was
 * issued to (see `ChallengeCaller`): a challenge fetched on a stepped-up
 * session is useless from any other.
 */
export async function claimRegistrationChallenge(
  deps: Pick<PasskeyDeps, "db" | "now">,
  userId: string,
  caller: ChallengeCaller,
  challenge: string,
  /** The caller's session condition: with it the claim can carry the guard's check in its round trip. */
  holds?: SQL,
): Promise<boolean> {
  const rows = await deps.db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.purpose, "register"),
        eq(webauthnChallenges.userId, userId),
        eq(webauthnChallenges.sessionId, caller.sessionId),
        // A token without a jti matches nothing: "" is never stored (null is).
        eq(webauthnChallenges.tokenId, caller.tokenId ?? ""),
        eq(webauthnChallenges.challenge, challenge),
        gt(webauthnChallenges.expiresAt, new Date(clock(deps)).toISOString()),
        holds,
      ),
    )
    .returning({ id: webauthnChallenges.id });
  return rows.length === 1;
}
