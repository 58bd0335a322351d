import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { type InlineProof, proveStepUp } from "../auth/step-up/proof";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { enforceRateLimit } from "../http/rate-limit";
import { takenConflict } from "../users/conflicts";

/**
 * What a signed-in user must show before their own email may change, on
 * every route that can change it: the current password (a stolen access
 * token alone must not be able to move the account, and with it every reset
 * link, to an attacker's mailbox): step-up, so no proof is 403
 * REAUTHENTICATION_REQUIRED and a wrong one 401 (one failure budget with the
 * other proofs). Every request is counted against the account's
 * `email-change` limit: by `proveInline` when a password is sent, here when
 * a recent re-authentication stands in for it (each request mails a link).
 * An address another account uses is refused now (409) rather than only at
 * confirmation.
 * Returns the proof: the caller's write must carry `proof.stillHolds`.
 */
export async function proveOwnEmailChange(c: Context<AppEnv>, newEmail: string, inline: InlineProof) {
  // Step-up: `currentPassword` (+ `code` with MFA on), or a recent re-authentication; neither is 403.
  if (inline.currentPassword === undefined) await enforceRateLimit(c, "email-change", { userId: c.var.user.id });
  const proof = await proveStepUp(c, inline, "email-change");
  const taken = await c.var.db.select({ id: users.id }).from(users).where(eq(users.email, newEmail)).get();
  if (taken) throw takenConflict("email");
  return proof;
}
