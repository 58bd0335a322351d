import { eq, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { can } from "../auth/permissions";
import type { Role } from "../db/schema";

export type Actor = { id: string; role: Role };

/**
 * The SQL twin of `assertOwnerOr(actor, ownerId, "content:modify-any")`: a
 * condition that limits an UPDATE or DELETE to the actor's own rows unless
 * their role may modify anyone's. Carrying it in the write makes the check and
 * the change one statement, with no window between them; the service then
 * calls `assertOwnerOr` on the row read in the same batch to answer 403 (the
 * write matched nothing) rather than 404.
 */
export const modifiableBy = (actor: Actor, authorId: SQLiteColumn): SQL | undefined =>
  can(actor.role, "content:modify-any") ? undefined : eq(authorId, actor.id);
