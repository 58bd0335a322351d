import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { nowIso } from "../db/client";
import { users } from "../db/schema";

export const MAX_FAILED_LOGINS = 10;
export const LOCKOUT_SECONDS = 15 * 60;

/**
 * Reserves one login attempt for the account with this email before its
 * password is compared, in one atomic UPDATE: the count goes up, and the
 * attempt that reaches the limit sets `locked_until`. A locked account matches
 * no row, so however many guesses run in parallel, at most ten are ever
 * compared. An expired lock starts a fresh count.
 *
 * Returns the user, or `undefined` when the email is unknown or the account is
 * locked (the caller tells the two apart only after spending the same bcrypt time).
 */
export async function reserveLoginAttempt(db: Db, email: string) {
  const now = nowIso();
  const lockUntil = new Date(Date.now() + LOCKOUT_SECONDS * 1000).toISOString();
  const lockExpired = sql`(${users.lockedUntil} is not null and ${users.lockedUntil} <= ${now})`;
  const attempts = sql`(case when ${lockExpired} then 1 else ${users.failedLoginCount} + 1 end)`;
  const rows = await db
    .update(users)
    .set({
      failedLoginCount: attempts,
      lockedUntil: sql`(case when ${attempts} >= ${MAX_FAILED_LOGINS} then ${lockUntil} else null end)`,
    })
    .where(sql`${users.email} = ${email} and (${users.lockedUntil} is null or ${users.lockedUntil} <= ${now})`)
    .returning();
  return rows[0];
}

/** Seconds until the account with this email unlocks, or 0 when it is not locked (or does not exist). */
export async function lockedForSeconds(db: Db, email: string): Promise<number> {
  const row = await db.select({ lockedUntil: users.lockedUntil }).from(users).where(eq(users.email, email)).get();
  if (!row?.lockedUntil) return 0;
  return Math.max(0, (Date.parse(row.lockedUntil) - Date.now()) / 1000);
}

/** After a correct password: the attempt reserved for it is given back along with all earlier failures. */
export const clearFailedLogins = (db: Db, userId: string) =>
  db.update(users).set({ failedLoginCount: 0, lockedUntil: null }).where(eq(users.id, userId));
