import { and, asc, count, desc, eq, isNull, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { AuditEntry } from "../audit/audit";
import { auditInsertWhere } from "../audit/audit";
import { sessionHoldsInWrite } from "../auth/guard";
import { wrongPassword } from "../auth/password-proof";
import type { SendWithProof } from "../auth/step-up/inline-proof";
import { proveStepUp } from "../auth/step-up/proof";
import { sendVerificationEmail } from "../auth/verification";
import { type Db, nowIso } from "../db/client";
import { type Role, sessions, tableCounts, type UserRow, type UserStatus, users } from "../db/schema";
import { startsWith } from "../db/search";
import { pendingExpiry } from "../email-change/binding";
import { sendEmailChangeNotice, sendEmailChangeVerification } from "../email-change/mail";
import { proveOwnEmailChange } from "../email-change/request";
import type { AppEnv, AuthUser } from "../env";
import { clientIp } from "../http/client";
import { nextCursor } from "../http/cursor";
import { forbidden, notFound, unauthorized } from "../http/errors";
import { type PageQuery, startOf } from "../http/pagination";
import { enforceRateLimit } from "../http/rate-limit";
import { isUniqueViolation, uniqueConflict } from "./conflicts";
import { lastAdmin, leavesAnActiveAdmin } from "./last-admin";
import type { UserListFilter } from "./schemas";

export type UserChanges = { username?: string; email?: string; role?: Role; status?: UserStatus };
/** A change as a route receives it: `currentPassword` is the proof a change of one's own email needs. */
export type UserChangeRequest = UserChanges & { currentPassword?: string; code?: string };

type Target = Pick<AuthUser, "id" | "username" | "email" | "role" | "status">;

export async function findUser(db: Db, id: string): Promise<UserRow> {
  const user = await db.select().from(users).where(eq(users.id, id)).get();
  if (!user) throw notFound("User");
  return user;
}

const ORDER = {
  createdAt: [asc(users.createdAt), asc(users.id)],
  "-createdAt": [desc(users.createdAt), desc(users.id)],
  username: [asc(users.username)],
  email: [asc(users.email)],
} as const;

type Sort = keyof typeof ORDER;

/**
 * Keyset for each order: the rows after a cursor's position, and the
 * position of a row. Usernames and emails are unique, so they are a whole key.
 */
const SEEK: Record<Sort, { after: (key: string, id: string) => SQL; keyOf: (u: UserRow) => [string, string] }> = {
  createdAt: {
    after: (key, id) => sql`(${users.createdAt}, ${users.id}) > (${key}, ${id})`,
    keyOf: (u) => [u.createdAt, u.id],
  },
  "-createdAt": {
    after: (key, id) => sql`(${users.createdAt}, ${users.id}) < (${key}, ${id})`,
    keyOf: (u) => [u.createdAt, u.id],
  },
  username: { after: (key) => sql`${users.username} > ${key}`, keyOf: (u) => [u.username, u.id] },
  email: { after: (key) => sql`${users.email} > ${key}`, keyOf: (u) => [u.email, u.id] },
};

/**
 * One page of users and the total: two statements, one round trip. Unfiltered,
 * the total is the trigger-kept count rather than a count of every user. A
 * `cursor` (of the same sort: its key means something else in another) seeks
 * in the sort's index instead of skipping the rows before it.
 */
export async function listUsers(db: Db, query: PageQuery, filter: UserListFilter) {
  const { limit } = query;
  const list = `users:${filter.sort}`;
  const start = startOf(list, query);
  const seek = SEEK[filter.sort];
  const where = and(
    filter.q ? or(startsWith(users.username, filter.q), startsWith(users.email, filter.q)) : undefined,
    filter.role ? eq(users.role, filter.role) : undefined,
    filter.status ? eq(users.status, filter.status) : undefined,
  );
  const [items, totals] = await db.batch([
    db
      .select()
      .from(users)
      .where(and(where, start.seek && seek.after(start.seek.key, start.seek.id)))
      .orderBy(...ORDER[filter.sort])
      .limit(limit)
      .offset(start.offset),
    where
      ? db.select({ total: count() }).from(users).where(where)
      : db.select({ total: tableCounts.total }).from(tableCounts).where(eq(tableCounts.tableName, "users")),
  ]);
  const next = nextCursor(list, start.page, items, limit, seek.keyOf);
  return { items, total: totals[0]?.total ?? 0, page: start.page, nextCursor: next };
}

/** Keeps only the fields that would actually change the row. */
function changedFields(target: Target, requested: UserChanges): UserChanges {
  return Object.fromEntries(
    Object.entries(requested).filter(([key, value]) => value !== undefined && value !== target[key as keyof Target]),
  );
}

/** The row still exists and, when the change takes admin power away, another active admin remains. */
const rowStillQualifies = (userId: string, guard: SQL | undefined) =>
  sql`exists (select 1 from "users" where "users"."id" = ${userId}${guard ? sql` and ${guard}` : sql``})`;

/**
 * The actor still has the role and active status the permission check (made
 * from the guard's read) saw, so a demotion or suspension of the actor that
 * lands between that read and the write makes the write a no-op.
 */
const actorStillHolds = (actor: Pick<AuthUser, "id" | "role">): SQL => sql`exists (
  select 1 from "users" as "actor"
  where "actor"."id" = ${actor.id} and "actor"."role" = ${actor.role} and "actor"."status" = 'active')`;

/**
 * A write that matched nothing: the user is gone (404), the password proof
 * behind it went stale (401), the last-admin rule refused it (409), or the
 * actor lost the rights it was checked for (403). Every condition is read in
 * one statement (one round trip) from the target's row, as the write saw it.
 */
async function explainNoMatch(c: Context<AppEnv>, userId: string, proven?: SQL): Promise<never> {
  const { db, user: actor } = c.var;
  const row = await db
    .select({
      session: sql<number>`${sessionHoldsInWrite(c)}`,
      proven: proven ? sql<number>`${proven}` : sql<number>`1`,
      adminsRemain: sql<number>`${leavesAnActiveAdmin(userId)}`,
      actorHolds: sql<number>`${actorStillHolds(actor)}`,
    })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!row) throw notFound("User");
  if (row.session !== 1) throw unauthorized("Session has ended; log in again");
  if (row.proven !== 1) throw wrongPassword();
  if (row.adminsRemain !== 1) throw lastAdmin();
  if (row.actorHolds !== 1) throw forbidden();
  throw lastAdmin();
}

/**
 * Applies profile, role and status changes to one user in one batch: the audit
 * events, the revocation of every session on suspension, and the UPDATE all
 * carry the same condition, so together they happen or not at all.
 *
 * Email, by whoever acts on the account, on any route:
 * - one's own: needs `currentPassword` (`proveOwnEmailChange`) and only
 *   becomes pending; the write is conditional on the password hash that was
 *   checked. The new address gets a confirmation link, the current one a
 *   notice; login, resets and mail stay with the current one until
 *   `POST /verify-email` confirms (email-change/pending.ts).
 * - someone else's, by an admin: applies at once, unverified, drops any
 *   pending change; the new address gets a verification link, the old one a
 *   notice, and the audit trail an `email_change`.
 * Either way the email changes from the point of view of reset tokens, which
 * are bound to it and die.
 */
export async function updateUser(c: Context<AppEnv>, target: Target, requested: UserChangeRequest): Promise<UserRow> {
  const { db, config } = c.var;
  const { currentPassword, code, ...fields } = requested;
  const changes = changedFields(target, fields);
  if (Object.keys(changes).length === 0) return findUser(db, target.id);
  const ownNewEmail = target.id === c.var.user.id ? changes.email : undefined;
  let proven: SQL | undefined;
  if (ownNewEmail !== undefined) {
    proven = (await proveOwnEmailChange(c, ownNewEmail, { currentPassword, code })).stillHolds;
    delete changes.email;
  } else if (changes.email !== undefined) {
    // Every new email sends a verification email: limited per account so this is no way to mail-bomb an address.
    await enforceRateLimit(c, "email-change", { userId: target.id });
  }

  const takesAdminPowerAway =
    (changes.role !== undefined && changes.role !== "admin") || changes.status === "suspended";
  const guard = and(
    takesAdminPowerAway ? leavesAnActiveAdmin(target.id) : undefined,
    actorStillHolds(c.var.user),
    sessionHoldsInWrite(c),
    proven,
  );
  const applies = rowStillQualifies(target.id, guard);
  const now = nowIso();
  const audit = (action: AuditEntry["action"], details: Record<string, unknown>) =>
    auditInsertWhere(db, { action, actorId: c.var.user.id, targetId: target.id, ip: clientIp(c), details }, applies);

  const before: BatchItem<"sqlite">[] = [];
  if (changes.role) before.push(audit("role_change", { from: target.role, to: changes.role }));
  if (changes.status) before.push(audit("status_change", { from: target.status, to: changes.status }));
  if (changes.username !== undefined) {
    before.push(audit("user_update", { username: { from: target.username, to: changes.username } }));
  }
  if (changes.email !== undefined) before.push(audit("email_change", { from: target.email, to: changes.email }));
  if (ownNewEmail !== undefined) before.push(audit("email_change_request", { from: target.email, to: ownNewEmail }));
  if (changes.status === "suspended") {
    before.push(
      db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.userId, target.id), isNull(sessions.revokedAt), applies)),
    );
  }
  const update = db
    .update(users)
    .set({
      ...changes,
      ...(changes.email !== undefined && { emailVerifiedAt: null, pendingEmail: null, pendingEmailExpiresAt: null }),
      ...(ownNewEmail !== undefined && {
        pendingEmail: ownNewEmail,
        pendingEmailExpiresAt: pendingExpiry(config.VERIFY_TOKEN_TTL),
      }),
      updatedAt: now,
    })
    .where(and(eq(users.id, target.id), guard))
    .returning();

  let updated: UserRow | undefined;
  try {
    const statements: BatchItem<"sqlite">[] = [...before, update];
    const results = await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    updated = (results.at(-1) as UserRow[])[0];
  } catch (err) {
    if (isUniqueViolation(err)) throw uniqueConflict(err);
    throw err;
  }
  if (!updated) return explainNoMatch(c, target.id, proven);
  if (changes.email !== undefined) {
    await sendVerificationEmail(c, updated);
    sendEmailChangeNotice(c, target.id, target.email, "done");
  }
  if (ownNewEmail !== undefined) {
    sendEmailChangeVerification(c, target.id, ownNewEmail, config.VERIFY_TOKEN_TTL);
    sendEmailChangeNotice(c, target.id, target.email, "requested");
  }
  return updated;
}

/**
 * Deletes a user unless they are the last active admin. Posts, comments and
 * sessions go with the row (ON DELETE CASCADE), so every token of theirs dies
 * with it. The audit event keeps who it was, since the row is gone.
 * `proven`: the condition of the password proof behind a self-deletion; the
 * delete then only happens if it still holds.
 */
export async function deleteUser(
  c: Context<AppEnv>,
  target: Target,
  proven?: SQL,
  send: SendWithProof = (statements) => c.var.db.batch(statements as [BatchItem<"sqlite">]),
): Promise<void> {
  const { db } = c.var;
  // `proven`: the password proof behind a self-deletion still holds (no change or reset landed meanwhile).
  const guard = and(leavesAnActiveAdmin(target.id), actorStillHolds(c.var.user), sessionHoldsInWrite(c), proven);
  // `send`: the proof's (its clearing of failures, its code's claim ride in the same batch).
  const statements: BatchItem<"sqlite">[] = [
    auditInsertWhere(
      db,
      {
        action: "user_delete",
        actorId: c.var.user.id,
        targetId: target.id,
        ip: clientIp(c),
        details: { username: target.username, email: target.email, role: target.role },
      },
      rowStillQualifies(target.id, guard),
    ),
    db
      .delete(users)
      .where(and(eq(users.id, target.id), guard))
      .returning({ id: users.id }),
  ];
  const results = await send(statements);
  const deleted = results[1] as { id: string }[];
  if (!deleted[0]) await explainNoMatch(c, target.id, proven);
}

/**
 * Deleting one's own account, by whichever route (`DELETE /me`,
 * `DELETE /user/:ownId`): step-up through `proveStepUp` with the `delete-me`
 * limit, so an alias is never a way around the proof or its rate limit; the
 * delete carries the proof's condition.
 */
export async function deleteOwnAccount(c: Context<AppEnv>, proof: { password?: string; code?: string }): Promise<void> {
  // Step-up: the password (+ code with MFA on) or a recent re-authentication of this session.
  const { stillHolds, send } = await proveStepUp(
    c,
    { currentPassword: proof.password, code: proof.code },
    "delete-me",
    { deferClear: true },
  );
  // Read only now: on DELETE /me the guard's check rode in the proof's first batch.
  await deleteUser(c, c.var.user, stillHolds, send);
}

/** The password was changed, or the account suspended or deleted, while the proof ran: the proof is void. */
