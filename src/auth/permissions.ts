import { and, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Context, MiddlewareHandler } from "hono";
import { ROLES, type Role, users } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { forbidden } from "../http/errors";
import { sessionHoldsInWrite, sessionUser } from "./guard";

/**
 * The permission table of the API contract, in one place. Every route asks
 * `can(role, action)` (or one of the helpers below); nothing checks a role
 * string by hand. The role is the one loaded from D1 for this request.
 */
export const PERMISSIONS = {
  "content:read": ["user", "moderator", "admin"],
  "content:create": ["user", "moderator", "admin"],
  "content:modify-own": ["user", "moderator", "admin"],
  "content:modify-any": ["moderator", "admin"],
  "users:read-any": ["moderator", "admin"],
  "users:list": ["moderator", "admin"],
  "users:manage": ["admin"],
  "audit:read": ["admin"],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

export const can = (role: Role, action: Action): boolean => (PERMISSIONS[action] as readonly Role[]).includes(role);

export function assertCan(role: Role, action: Action) {
  if (!can(role, action)) throw forbidden();
}

/**
 * Decides on the caller's row as D1 holds it now, never on the token's claims.
 * On a read whose session check is still pending, `rule` rides with that check
 * (db/gate.ts `demand`): the check and the route's first read travel in one
 * round trip, and when `rule` throws, the route's results are discarded like a
 * dead session's. Otherwise the check runs first and `rule` sees its row.
 */
export async function decideOnSessionRow(c: Context<AppEnv>, rule: (user: AuthUser) => void): Promise<void> {
  if (c.var.sessionGate.demand(() => rule(c.var.user))) return;
  rule(await sessionUser(c));
}

/** Route middleware (after `requireAuth`): lets the request through only when the caller's role may do `action`. */
export const requirePermission = (action: Action): MiddlewareHandler<AppEnv> => {
  // Granted to every role: no decision to make, so a deferred session check can still ride with the route's read.
  const everyone = ROLES.every((role) => can(role, action));
  return async (c, next) => {
    if (!everyone) await decideOnSessionRow(c, (user) => assertCan(user.role, action));
    await next();
  };
};

/**
 * Owners may modify what they own; others need `anyAction`. Used for posts,
 * comments and user records alike.
 */
export function assertOwnerOr(actor: Actor, ownerId: string, anyAction: Action) {
  if (actor.id !== ownerId && !can(actor.role, anyAction)) throw forbidden();
}

export type Actor = { id: string; role: Role };

/**
 * The caller of a `requireAuthInWrite` route (guard.ts), whose row is loaded
 * in the same batch as the write: its role is not known when the write is
 * built, so the write decides by the role in D1 (`roleMay`) and carries the
 * session check (`holds`); `checked()` gives the loaded row once the batch
 * came back (the check passed), for the answer (403 rather than 404).
 */
export type ActorInWrite = { id: string; holds: SQL; checked: () => Actor };

export const actorInWrite = (c: Context<AppEnv>): ActorInWrite => ({
  id: c.var.user.id,
  holds: sessionHoldsInWrite(c),
  checked: () => c.var.user,
});

export const isInWrite = (actor: Actor | ActorInWrite): actor is ActorInWrite => "holds" in actor;

/** The actor with its role: as given, or as the session check loaded it (call after the write's batch came back). */
export const checkedActor = (actor: Actor | ActorInWrite): Actor => (isInWrite(actor) ? actor.checked() : actor);

/** The SQL twin of `can(role, action)` for user `userId`, with the role D1 holds in the same statement. */
export const roleMay = (userId: string, action: Action): SQL =>
  sql`exists (select 1 from ${users} where ${and(eq(users.id, userId), inArray(users.role, [...PERMISSIONS[action]]))})`;

/**
 * The SQL twin of `assertOwnerOr(actor, ownerId, "content:modify-any")`: a
 * condition that limits an UPDATE or DELETE to the actor's own rows unless
 * their role may modify anyone's. Carrying it in the write makes the check and
 * the change one statement, with no window between them; the service then
 * calls `assertOwnerOr` on the row read in the same batch to answer 403 (the
 * write matched nothing) rather than 404.
 */
export const modifiableBy = (actor: Actor | ActorInWrite, ownerColumn: SQLiteColumn): SQL | undefined => {
  if (isInWrite(actor)) return and(or(eq(ownerColumn, actor.id), roleMay(actor.id, "content:modify-any")), actor.holds);
  return can(actor.role, "content:modify-any") ? undefined : eq(ownerColumn, actor.id);
};
