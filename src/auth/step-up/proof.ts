import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { sessions } from "../../db/schema";
import type { AppEnv, AuthUser } from "../../env";
import { AppError } from "../../http/errors";
import { sessionHoldsInWrite, sessionUser } from "../guard";
import { passwordStillHolds } from "../password-proof";
import { type InlineProven, invalidMfaCode, proveInline } from "./inline-proof";

export const reauthenticationRequired = () =>
  new AppError(
    403,
    "REAUTHENTICATION_REQUIRED",
    "This action needs fresh proof: send currentPassword (and code when MFA is on) or POST /me/reauthenticate first",
  );

export { invalidMfaCode };

/** What a sensitive action's body may carry as inline proof. */
export type InlineProof = { currentPassword?: string; code?: string };

/**
 * The recent proof as SQL: the session row still has the `last_proof_at` the
 * guard loaded, made with this very access token (`last_proof_jti`), is not
 * revoked, and the password is unchanged since. The write the proof
 * authorises carries it, so a logout, a password change or a newer
 * re-authentication (by another token of the session) landing meanwhile makes
 * the write a no-op.
 */
const recentProofHolds = (c: Context<AppEnv>, lastProofAt: string, tokenId: string): SQL =>
  sql`exists (select 1 from ${sessions} where ${sessions.id} = ${c.var.sessionId} and ${sessions.lastProofAt} = ${lastProofAt} and ${sessions.lastProofJti} = ${tokenId} and ${sessions.revokedAt} is null) and ${passwordStillHolds(c.var.user.id, c.var.user.passwordHash)}`;

/**
 * This access token proved its user with POST /me/reauthenticate within
 * `STEP_UP_TTL` seconds (a sign-in does not count). Bound to the token, not
 * the session (M1): whoever refreshed the same session to another access
 * token (a thief holding a stolen refresh token) does not share the owner's
 * proof, and a refresh ends it for the owner too. A token without a `jti`
 * never carries a recent proof.
 */
function recentProof(c: Context<AppEnv>): SQL | undefined {
  const { lastProofAt, lastProofJti } = c.var.user;
  const { tokenId } = c.var;
  if (!lastProofAt || !tokenId || lastProofJti !== tokenId) return undefined;
  const fresh = Date.parse(lastProofAt) > Date.now() - c.var.config.STEP_UP_TTL * 1000;
  return fresh ? recentProofHolds(c, lastProofAt, tokenId) : undefined;
}

/**
 * Step-up: fresh proof of presence before a sensitive action (change email or
 * password, delete the account, turn MFA on or off, new recovery codes, any
 * later sign-in method change). Accepted, in order:
 * - inline: `currentPassword` plus, when MFA is on, `code`, compared under ONE
 *   reserved attempt (`proveInline`: one failure budget with login, either
 *   part wrong is one failure);
 * - recent: this session's `last_proof_at` within `STEP_UP_TTL` seconds (set
 *   only by `POST /me/reauthenticate`, not at sign-in), made with the very
 *   access token of this request (`recentProof`: another session's proof,
 *   or another token's of the same session, never counts). A password that
 *   was sent is still checked.
 * `codeRequired`: the action also needs a code whatever the recent proof
 * (turning MFA off, new recovery codes). `precondition`: the route's own
 * refusal on the caller's row (MFA off, ...), decided before anything is
 * compared (a reserved attempt is given back).
 * Throws 401 for a wrong password or code, 403 `REAUTHENTICATION_REQUIRED`
 * without proof. Returns the condition the caller's write must carry.
 *
 * Round trips: on a `requireAuthInWrite` route the guard's check rides in the
 * reservation's batch (or, with no inline proof, in the batch of `also`), and
 * with `deferClear` the caller sends its write through `send`, which adds the
 * clearing of the attempt and the claim of the code's step: two in all.
 * Without `deferClear` they are sent here and `send` is a plain batch.
 */
export async function proveStepUp<Also extends unknown[] = []>(
  c: Context<AppEnv>,
  inline: InlineProof,
  endpoint: string,
  {
    codeRequired = false,
    deferClear = false,
    also = [] as never,
    precondition,
  }: {
    codeRequired?: boolean;
    deferClear?: boolean;
    also?: { [K in keyof Also]: BatchItem<"sqlite"> & PromiseLike<Also[K]> };
    precondition?: (user: AuthUser) => void;
  } = {},
): Promise<InlineProven<Also>> {
  const { currentPassword, code } = inline;
  const { db } = c.var;
  if (currentPassword === undefined && code === undefined) {
    // Nothing to reserve: the check rides with the route's reads (or runs alone); the write is the second trip.
    const rows = (also.length > 0 ? await db.batch(also as never) : []) as unknown as Also;
    const user = await sessionUser(c);
    precondition?.(user);
    if (user.mfaEnabledAt && codeRequired) throw reauthenticationRequired();
    const recent = recentProof(c);
    if (!recent) throw reauthenticationRequired();
    const send = (statements: BatchItem<"sqlite">[]) => db.batch(statements as [BatchItem<"sqlite">]);
    return { stillHolds: sql`${recent} and ${sessionHoldsInWrite(c)}`, send, also: rows };
  }
  let recent: SQL | undefined;
  let inlineComplete = false;
  const proof = await proveInline(c, { password: currentPassword, code }, endpoint, {
    also,
    deferred: deferClear,
    decide: (user) => {
      precondition?.(user);
      const mfaOn = user.mfaEnabledAt != null;
      recent = recentProof(c);
      inlineComplete = currentPassword !== undefined && (!mfaOn || code !== undefined);
      // Refused before anything is compared, so a missing proof spends no password guess and no code.
      if (!inlineComplete && !recent) throw reauthenticationRequired();
      if (mfaOn && codeRequired && code === undefined) throw reauthenticationRequired();
      return { password: currentPassword !== undefined, code: mfaOn && code !== undefined };
    },
  });
  // Authorised by the recent proof: its condition too (it includes the password's).
  if (recent && !inlineComplete) return { ...proof, stillHolds: sql`${recent} and ${proof.stillHolds}` };
  return proof;
}
