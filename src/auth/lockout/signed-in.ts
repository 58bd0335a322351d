import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { nowIso } from "../../db/client";
import { loginFailures, users } from "../../db/schema";
import {
  type Attempt,
  FAILURE_WINDOW_SECONDS,
  failureScope,
  NETWORK_FAILURE_LIMIT,
  PRUNE_PER_ATTEMPT,
  secondsFromNow,
} from "./failures";

/** Who a signed-in reservation is for: the token's user and session, and the guard's check as SQL. */
export type SignedInWho = { userId: string; sessionId: string; network: string; holds: SQL };

/**
 * Counts one failure for (the user's email, scope), the email read in SQL
 * from the user row, and only while `holds` (the guard's session check) is
 * true: the row a failed check leaves behind is none at all. Same upsert and
 * cap as `countFailure` (failures.ts). `INSERT … SELECT … WHERE` keeps SQLite's
 * upsert unambiguous (the SELECT needs its WHERE before `ON CONFLICT`).
 */
function countSignedInFailure(db: Db, who: SignedInWho, scope: string, now: string, expiresAt: string, cap?: number) {
  const expired = sql`${loginFailures.expiresAt} <= ${now}`;
  const expiry = sql.param(expiresAt, loginFailures.expiresAt);
  return db
    .insert(loginFailures)
    .select(
      sql`select ${users.email}, ${scope}, 1, ${expiry} from ${users} where ${users.id} = ${who.userId} and ${who.holds}`,
    )
    .onConflictDoUpdate({
      target: [loginFailures.email, loginFailures.scope],
      set: { failures: sql`case when ${expired} then 1 else ${loginFailures.failures} + 1 end`, expiresAt },
      setWhere: cap === undefined ? undefined : sql`${expired} or ${loginFailures.failures} < ${cap}`,
    })
    .returning({ failures: loginFailures.failures });
}

const emailOf = (userId: string) => sql`(select ${users.email} from ${users} where ${users.id} = ${userId})`;

/**
 * `reserveAttempt` (failures.ts) for a signed-in caller whose session check
 * has not run yet: the counters are keyed by the email in SQL (the token
 * carries only the user id), every write carries the guard's condition, so
 * the check itself can ride in this batch (guard.ts `requireAuthInWrite`):
 * one round trip for check, reservation and the reads in `also`. The
 * unknown-email cost statements of login are left out: the account exists.
 *
 * The same counters as a password at POST /login (account, network) plus the
 * session's, with the same caps; a request whose session check fails counts
 * nothing, as the upserts find no row to insert.
 */
export async function reserveSignedInAttempt<Also extends unknown[] = []>(
  db: Db,
  who: SignedInWho,
  also: { [K in keyof Also]: BatchItem<"sqlite"> & PromiseLike<Also[K]> } = [] as never,
): Promise<Omit<Attempt, "user" | "unknownEmailCost"> & { counted: string[]; also: Also }> {
  const now = nowIso();
  const expiresAt = secondsFromNow(FAILURE_WINDOW_SECONDS);
  const network = failureScope.network(who.network);
  const session = failureScope.session(who.sessionId);
  const statements = [
    countSignedInFailure(db, who, network, now, expiresAt, NETWORK_FAILURE_LIMIT),
    db
      .select({ expiresAt: loginFailures.expiresAt })
      .from(loginFailures)
      .where(and(sql`${loginFailures.email} = ${emailOf(who.userId)}`, eq(loginFailures.scope, network))),
    countSignedInFailure(db, who, failureScope.account, now, expiresAt),
    countSignedInFailure(db, who, session, now, expiresAt),
    db
      .delete(loginFailures)
      .where(
        sql`rowid in (select rowid from ${loginFailures} where ${loginFailures.expiresAt} <= ${now} limit ${PRUNE_PER_ATTEMPT}) and ${who.holds}`,
      ),
  ] as const;
  const results = (await db.batch([...statements, ...(also as BatchItem<"sqlite">[])] as [
    BatchItem<"sqlite">,
    ...BatchItem<"sqlite">[],
  ])) as unknown[];
  const [byNetwork, networkRow, byAccount, bySession] = results as [
    { failures: number }[],
    { expiresAt: string }[],
    { failures: number }[],
    { failures: number }[],
  ];
  const lockedUntil = byNetwork[0] ? undefined : networkRow[0]?.expiresAt;
  return {
    lockedForSeconds: lockedUntil ? 60 * Math.max(1, Math.ceil((Date.parse(lockedUntil) - Date.now()) / 60_000)) : 0,
    earlierAccountFailures: (byAccount[0]?.failures ?? 1) - 1,
    sessionFailures: bySession[0]?.failures ?? 0,
    // What this reservation added to, for `releaseAttempt`: a network at its cap was not counted.
    counted: [failureScope.account, session, ...(byNetwork[0] ? [network] : [])],
    also: results.slice(statements.length) as Also,
  };
}

/**
 * Gives back a reserved attempt that was refused before anything was
 * compared (no proof sent for what the account needs, a precondition of the
 * route): one failure off each counter it added to, not the failures before
 * it, so a refusal never wipes an attacker's record the way a right password
 * does (`clearFailures`).
 */
export const releaseAttempt = (db: Db, userId: string, counted: string[]) =>
  db
    .update(loginFailures)
    .set({ failures: sql`${loginFailures.failures} - 1` })
    .where(
      and(
        sql`${loginFailures.email} = ${emailOf(userId)}`,
        inArray(loginFailures.scope, counted),
        sql`${loginFailures.failures} > 0`,
      ),
    );
