import { and, eq, isNull, ne, type SQL, sql } from "drizzle-orm";
import type { AuditAction } from "../audit/audit";
import { auditInsertWhere } from "../audit/audit";
import type { Db } from "../db/client";
import { nowIso } from "../db/client";
import { insertWhere } from "../db/insert-where";
import { sessions, type UserRow, users } from "../db/schema";
import { clearAllFailures } from "./lockout/failures";

type PasswordReplacement = {
  userId: string;
  /** The account's email as the caller saw it: an email change landing meanwhile stops the batch (reset links are bound to it), and its failure counters are cleared. */
  email: string;
  /** The hash the caller checked (current password or reset token binding). */
  expectedHash: string;
  newHash: string;
  /**
   * `/me/password`: the caller's replacement session (from `openSession`), inserted with the change.
   * Every session is revoked either way, the caller's own included: whoever shares it (a stolen refresh token) is cut off (L2).
   */
  newSession?: { id: string } & Record<string, unknown>;
  audit: { action: AuditAction; actorId: string | null; ip: string };
  /** What else the caller checked and every statement must still see (a step-up proof: session live, code unused). */
  condition?: SQL;
};

/**
 * The statements that replace a password, for one `db.batch` (D1 runs a batch
 * as one serialized transaction). Every statement is conditional on the user
 * still having `expectedHash`, so of two racing changes (one reset token sent
 * twice at once, two tabs) exactly one applies and the loser's batch writes
 * nothing, not even an audit row. The update runs last so the guards before
 * it still see the old hash; its RETURNING row says whether the batch applied.
 * Every failure counter of the email is cleared (locks and slow-down): whoever
 * proved control of the account, by its password or its mailbox, always has a way in.
 * A pending email change is cancelled (its link then matches nothing): otherwise
 * whoever registered the address first could set one and take the account back
 * after its owner reset the password.
 * With `newSession` (a change by a signed-in caller) every session is revoked,
 * the caller's included, and the new one inserted: the sessions go after the
 * update (the caller's condition reads its own session, so it must still be
 * live there), and the revocation's guard is the new session's existence,
 * which its insert made conditional on everything. Read the outcome with
 * `replacedRows`.
 */
export function replacePassword(db: Db, change: PasswordReplacement) {
  const now = nowIso();
  // Active too: a suspension that lands between the caller's check and this batch still stops a reset.
  const stillUnchanged = and(
    eq(users.id, change.userId),
    eq(users.passwordHash, change.expectedHash),
    eq(users.email, change.email),
    eq(users.status, "active"),
    change.condition,
  );
  const guard = sql`exists (select 1 from ${users} where ${stillUnchanged})`;
  const revokeAll = (holds: SQL, spare?: string) =>
    db
      .update(sessions)
      .set({ revokedAt: now })
      .where(
        and(
          eq(sessions.userId, change.userId),
          isNull(sessions.revokedAt),
          spare ? ne(sessions.id, spare) : undefined,
          holds,
        ),
      );
  const update = db
    .update(users)
    // A pending email change was asked for by whoever knew the old password: it dies with it.
    .set({
      passwordHash: change.newHash,
      hasPassword: true,
      pendingEmail: null,
      pendingEmailExpiresAt: null,
      updatedAt: now,
    })
    .where(stillUnchanged)
    .returning();
  const audit = auditInsertWhere(db, { ...change.audit, targetId: change.userId }, guard);
  const clear = clearAllFailures(db, change.email, guard);
  const { newSession } = change;
  if (!newSession) return [revokeAll(guard), audit, clear, update] as const;
  const created = sql`exists (select 1 from ${sessions} where ${sessions.id} = ${newSession.id})`;
  return [
    audit,
    clear,
    insertWhere(db, sessions, newSession, guard),
    update,
    revokeAll(created, newSession.id),
  ] as const;
}

/** The account update's RETURNING rows in `replacePassword`'s results: empty when the batch changed nothing. */
export const replacedRows = (results: readonly unknown[]) => results[REPLACED_AT] as UserRow[];
const REPLACED_AT = 3;
