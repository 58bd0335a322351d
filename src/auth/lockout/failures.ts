import { and, asc, eq, gte, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { nowIso } from "../../db/client";
import { loginFailures, type UserRow, users } from "../../db/schema";
import { sha256Hex } from "../tokens";

/** Failures one network may make on one email before that network is refused for it. */
export const NETWORK_FAILURE_LIMIT = 10;
/** Failures on one email, from all networks together, after which every attempt is challenged or slowed down. */
export const ACCOUNT_SLOWDOWN_AFTER = 10;
/** Wrong passwords on one session (step-up proofs, `proveInline`) after which that session is revoked. */
export const SESSION_FAILURE_LIMIT = 5;
/** A counter lives this long after its latest failure; the 10th failure of a network locks it for this long. */
export const FAILURE_WINDOW_SECONDS = 15 * 60;
/** Expired rows removed per attempt, so rows for made-up emails do not pile up. */
export const PRUNE_PER_ATTEMPT = 20;

/** The counters kept per normalised email (see `loginFailures` in db/schema.ts). */
export const failureScope = {
  account: "account",
  network: (network: string) => `net:${network}`,
  session: (sessionId: string) => `session:${sessionId}`,
};

export const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/**
 * Counts one failure for (email, scope) in one upsert. With a cap, a live row
 * already at the cap is left alone and RETURNING yields nothing: the attempt
 * is refused, and however many run in parallel, at most `cap` get a row back.
 */
function countFailure(db: Db, email: string, scope: string, now: string, expiresAt: string, cap?: number) {
  const expired = sql`${loginFailures.expiresAt} <= ${now}`;
  return db
    .insert(loginFailures)
    .values({ email, scope, failures: 1, expiresAt })
    .onConflictDoUpdate({
      target: [loginFailures.email, loginFailures.scope],
      set: { failures: sql`case when ${expired} then 1 else ${loginFailures.failures} + 1 end`, expiresAt },
      setWhere: cap === undefined ? undefined : sql`${expired} or ${loginFailures.failures} < ${cap}`,
    })
    .returning({ failures: loginFailures.failures });
}

/** `$2a$10$…`: characters 5-6 are the cost. */
const hashCostExpr = sql<string>`substr(${users.passwordHash}, 5, 2)`;

/**
 * The bcrypt cost an unknown email is compared at: that of the account whose
 * id follows SHA-256(email) (wrapping around), so unknown emails get costs
 * distributed exactly like real accounts' whatever BCRYPT_COST their hashes
 * were made at, and one email always the same. Both statements are one step
 * of the primary key index.
 */
async function mirroredAccountPivot(email: string) {
  const h = await sha256Hex(`unknown-email-cost:${email}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export type Attempt = {
  /** The account with that email, if any. */
  user: UserRow | undefined;
  /** > 0 when this network has used up its failures for this email (refused; it still counts toward the total). */
  lockedForSeconds: number;
  /** Failures on this email from every network before this attempt. */
  earlierAccountFailures: number;
  /** Failures on this session including this attempt (signed-in proofs only). */
  sessionFailures: number;
  /** The bcrypt cost an unknown email must be compared at (see `mirroredAccountPivot`); 0 with no accounts. */
  unknownEmailCost: number;
};

/**
 * Reserves one password check for `email` from `network` before the password
 * is compared, in one batch: the attempt is counted as a failure up front (a
 * success gives it back with `clearFailures`), so parallel guesses cannot
 * overrun a budget. It works the same whether or not an account has the
 * email, so a locked-out real account and an unknown email answer alike.
 *
 * Only the network that failed is locked out: the owner on another network
 * still gets in with the right password, so nobody without the password can
 * keep the owner out. Failures from every network together only make the
 * email slower to try (or ask for a challenge, see challenge.ts).
 */
export async function reserveAttempt<Also = never>(
  db: Db,
  who: { email: string; network: string; sessionId?: string },
  ride: Ride<Also> = {},
): Promise<Attempt & { also: Also | undefined }> {
  const now = nowIso();
  const expiresAt = secondsFromNow(FAILURE_WINDOW_SECONDS);
  const network = failureScope.network(who.network);
  const pivot = await mirroredAccountPivot(who.email);
  const statements = [
    countFailure(db, who.email, network, now, expiresAt, NETWORK_FAILURE_LIMIT),
    db
      .select({ expiresAt: loginFailures.expiresAt })
      .from(loginFailures)
      .where(and(eq(loginFailures.email, who.email), eq(loginFailures.scope, network))),
    countFailure(db, who.email, failureScope.account, now, expiresAt),
    db.select().from(users).where(eq(users.email, who.email)),
    db.select({ cost: hashCostExpr }).from(users).where(gte(users.id, pivot)).orderBy(asc(users.id)).limit(1),
    db.select({ cost: hashCostExpr }).from(users).orderBy(asc(users.id)).limit(1),
    db
      .delete(loginFailures)
      .where(
        sql`rowid in (select rowid from ${loginFailures} where ${loginFailures.expiresAt} <= ${now} limit ${PRUNE_PER_ATTEMPT})`,
      ),
  ] as const;
  const bySessionStatement = who.sessionId
    ? [countFailure(db, who.email, failureScope.session(who.sessionId), now, expiresAt)]
    : [];
  // One round trip: what rides before, the reservation, then what rides after (reads only).
  const before = ride.before ?? [];
  const after = ride.also ? [ride.also] : [];
  const results = (await db.batch([...before, ...statements, ...bySessionStatement, ...after] as [
    BatchItem<"sqlite">,
    ...BatchItem<"sqlite">[],
  ])) as unknown[];
  const reserved = results.slice(before.length);
  const [byNetwork, networkRow, byAccount, found, mirrored, first] = reserved as unknown as ReservedRows;
  const bySession = (who.sessionId ? reserved[statements.length] : []) as { failures: number }[];
  const also = (ride.also ? reserved[reserved.length - 1] : undefined) as Also | undefined;
  const lockedUntil = byNetwork[0] ? undefined : networkRow[0]?.expiresAt;
  return {
    user: found[0],
    // Whole minutes: precise enough for a client, and no per-request jitter to tell two answers apart.
    lockedForSeconds: lockedUntil ? 60 * Math.max(1, Math.ceil((Date.parse(lockedUntil) - Date.now()) / 60_000)) : 0,
    earlierAccountFailures: (byAccount[0]?.failures ?? 1) - 1,
    sessionFailures: bySession[0]?.failures ?? 0,
    unknownEmailCost: Number.parseInt((mirrored[0] ?? first[0])?.cost ?? "", 10) || 0,
    also,
  };
}

/**
 * Statements that travel in the reservation's batch, saving round trips:
 * `before` runs first (a write already decided, e.g. the clearing of an
 * earlier proof of the same request); `also` is one read run after the
 * reservation, whose rows come back as `also`. Neither may depend on the
 * outcome of the check the reservation is for: that is compared only after.
 */
export type Ride<Also> = { before?: BatchItem<"sqlite">[]; also?: BatchItem<"sqlite"> & PromiseLike<Also> };

type ReservedRows = [
  { failures: number }[],
  { expiresAt: string }[],
  { failures: number }[],
  UserRow[],
  { cost: string }[],
  { cost: string }[],
];

/**
 * After a proven password: the attempt reserved for it is given back with the
 * failures before it, for the given scopes of that email. Carries the caller's
 * condition (the password hash the proof saw is still the account's), so a
 * proof that a concurrent reset made stale clears nothing.
 */
export const clearFailures = (db: Db, email: string, scopes: string[], condition: SQL) =>
  db.delete(loginFailures).where(and(eq(loginFailures.email, email), inArray(loginFailures.scope, scopes), condition));

/** Every counter of an email: a password reset ends every lock and slow-down on the account. */
export const clearAllFailures = (db: Db, email: string, condition: SQL) =>
  db.delete(loginFailures).where(and(eq(loginFailures.email, email), condition));
