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

/** The lock of the account with this email, as a query to batch with the failed attempt's audit row. */
export const lockOf = (db: Db, email: string) =>
  db.select({ lockedUntil: users.lockedUntil }).from(users).where(eq(users.email, email));

/** Seconds until a `locked_until` time, 0 when it is past or unset. */
export const secondsUntil = (time: string | null | undefined) =>
  time ? Math.max(0, (Date.parse(time) - Date.now()) / 1000) : 0;

/**
 * After a correct password: the attempt reserved for it is given back along
 * with all earlier failures, and the hash is replaced when it was upgraded.
 */
export const clearFailedLogins = (db: Db, userId: string, upgradedHash?: string) =>
  db
    .update(users)
    .set({ failedLoginCount: 0, lockedUntil: null, ...(upgradedHash && { passwordHash: upgradedHash }) })
    .where(eq(users.id, userId));
