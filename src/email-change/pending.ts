import { and, eq, gt, isNotNull, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { auditInsertWhere } from "../audit/audit";
import { sessionHoldsInWrite } from "../auth/guard";
import { nowIso } from "../db/client";
import { type UserRow, users } from "../db/schema";
import type { AppEnv } from "../env";
import { clientIp } from "../http/client";
import { notFound } from "../http/errors";
import { isUniqueViolation, uniqueConflict } from "../users/conflicts";
import { sendEmailChangeNotice } from "./mail";

/**
 * Moves the account to its confirmed pending address, in one conditional
 * UPDATE: only if the pending address is still the one the token was bound
 * to, has not lapsed, and the current address is still the one the caller
 * read (an admin change in between wins), and only while the caller's
 * session (of this account) holds. The audit row carries the same
 * condition. If another account took the address meanwhile, the unique
 * index fails the whole batch: `409 CONFLICT`, nothing changes.
 * Returns null when the condition no longer held.
 */
export async function confirmEmailChange(
  c: Context<AppEnv>,
  user: Pick<UserRow, "id" | "email"> & { pendingEmail: string },
  /** The caller's session condition (N1: only the account's own session confirms; `sessionHoldsInWrite`). */
  sessionHolds: SQL,
): Promise<UserRow | null> {
  const { db } = c.var;
  const now = nowIso();
  const stillPending = and(
    eq(users.id, user.id),
    eq(users.email, user.email),
    eq(users.pendingEmail, user.pendingEmail),
    gt(users.pendingEmailExpiresAt, now),
    sessionHolds,
  );
  let swapped: UserRow | undefined;
  try {
    const [, rows] = await db.batch([
      auditInsertWhere(
        db,
        {
          action: "email_change",
          actorId: user.id,
          targetId: user.id,
          ip: clientIp(c),
          details: { from: user.email, to: user.pendingEmail },
        },
        sql`exists (select 1 from ${users} where ${stillPending})`,
      ),
      db
        .update(users)
        .set({
          email: sql`${users.pendingEmail}`,
          emailVerifiedAt: now,
          pendingEmail: null,
          pendingEmailExpiresAt: null,
          updatedAt: now,
        })
        .where(stillPending)
        .returning(),
    ]);
    swapped = rows[0];
  } catch (err) {
    if (isUniqueViolation(err)) throw uniqueConflict(err);
    throw err;
  }
  if (!swapped) return null;
  sendEmailChangeNotice(c, user.id, user.email, "done");
  return swapped;
}

/**
 * Drops the caller's pending change; its confirmation link dies with it (bound
 * to the pending address). One round trip: the guard's check rides with the
 * update, which carries it (requireAuthInWrite).
 */
export async function cancelPendingEmail(c: Context<AppEnv>): Promise<UserRow> {
  const { db, user } = c.var;
  const pending = and(isNotNull(users.pendingEmail), gt(users.pendingEmailExpiresAt, nowIso()));
  const [cancelled] = await db
    .update(users)
    .set({ pendingEmail: null, pendingEmailExpiresAt: null, updatedAt: nowIso() })
    .where(and(eq(users.id, user.id), pending, sessionHoldsInWrite(c)))
    .returning();
  if (!cancelled) throw notFound("Pending email change");
  return cancelled;
}
