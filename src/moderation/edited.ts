import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Actor } from "../auth/permissions";

/**
 * The `editedBy`/`editedAt` columns of an UPDATE of a post or comment: they
 * move only when the editor is not the author, so readers see that a
 * moderator or admin changed what the author wrote (and who did, and when),
 * and an author's later edit does not wipe that mark. The author's own edits
 * only move `updatedAt`. Decided in SQL from the row being updated, so it
 * cannot disagree with the row's real author.
 */
export const editedBy = (
  actor: Pick<Actor, "id">,
  now: string,
  t: { authorId: SQLiteColumn; editedBy: SQLiteColumn; editedAt: SQLiteColumn },
): { editedBy: SQL; editedAt: SQL } => ({
  editedBy: sql`case when ${t.authorId} = ${actor.id} then ${t.editedBy} else ${actor.id} end`,
  editedAt: sql`case when ${t.authorId} = ${actor.id} then ${t.editedAt} else ${now} end`,
});
