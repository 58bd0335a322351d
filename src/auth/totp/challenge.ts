import { and, eq, gt, lte, or, sql } from "drizzle-orm";
import { mfaChallenges, users } from "../../db/schema";
import { randomToken, sha256Hex } from "../tokens";
import { clock, type MfaDeps } from "./deps";

export const MFA_CHALLENGE_TTL_SECONDS = 5 * 60;
export const MFA_CHALLENGE_MAX_ATTEMPTS = 5;

/**
 * Issues the login mfaToken after a correct password: 256 random bits, stored
 * only as SHA-256, living 5 minutes, bound to the password hash it was issued
 * against (a password change kills it). The user's expired or spent tokens
 * are swept in the same batch, so the table stays small.
 */
export async function issueMfaChallenge(
  deps: Pick<MfaDeps, "db" | "now">,
  user: { id: string; passwordHash: string },
): Promise<{ mfaToken: string; expiresIn: number }> {
  const { statements, ...issued } = await prepareMfaChallenge(deps, user);
  await deps.db.batch(statements);
  return issued;
}

/** The first step an mfaToken follows (see `mfaChallenges.firstFactor`). */
export type FirstFactor = "pwd" | "email" | "oauth";

/** `issueMfaChallenge` as statements, for a caller that batches them with its own writes (login). */
export async function prepareMfaChallenge(
  deps: Pick<MfaDeps, "db" | "now">,
  user: { id: string; passwordHash: string },
  firstFactor: FirstFactor = "pwd",
) {
  const now = clock(deps);
  const mfaToken = randomToken();
  const statements = [
    deps.db
      .delete(mfaChallenges)
      .where(
        and(
          eq(mfaChallenges.userId, user.id),
          or(
            lte(mfaChallenges.expiresAt, new Date(now).toISOString()),
            sql`${mfaChallenges.attempts} >= ${MFA_CHALLENGE_MAX_ATTEMPTS}`,
          ),
        ),
      ),
    deps.db.insert(mfaChallenges).values({
      tokenHash: await sha256Hex(mfaToken),
      userId: user.id,
      passwordHash: user.passwordHash,
      expiresAt: new Date(now + MFA_CHALLENGE_TTL_SECONDS * 1000).toISOString(),
      firstFactor,
    }),
  ] as const;
  return { mfaToken, expiresIn: MFA_CHALLENGE_TTL_SECONDS, statements };
}

/** Still usable: not expired, and still bound to the account's current password hash. */
export const liveChallenge = (tokenHash: string, nowIso: string) =>
  and(
    eq(mfaChallenges.tokenHash, tokenHash),
    gt(mfaChallenges.expiresAt, nowIso),
    sql`${mfaChallenges.passwordHash} = (select ${users.passwordHash} from ${users} where ${users.id} = ${mfaChallenges.userId})`,
  );
