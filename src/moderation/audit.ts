import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { AuditAction } from "../audit/audit";
import { type Actor, type ActorInWrite, can, isInWrite, roleMay } from "../auth/permissions";
import type { Db } from "../db/client";
import { auditEvents, comments, posts } from "../db/schema";

/** What a moderation event is about: the row, a reference to it, and the text it records as "before". */
const SUBJECTS = {
  post: {
    table: posts,
    id: posts.id,
    authorId: posts.authorId,
    ref: sql`'postId', ${posts.id}`,
    text: { title: posts.title, content: posts.content },
  },
  comment: {
    table: comments,
    id: comments.id,
    authorId: comments.authorId,
    ref: sql`'commentId', ${comments.id}, 'postId', ${comments.postId}`,
    text: { content: comments.content },
  },
};

type Subject = keyof typeof SUBJECTS;

const jsonObject = (fields: Record<string, SQLiteColumn>) =>
  sql.join(
    Object.entries(fields).map(([name, column]) => sql`${name}, ${column}`),
    sql`, `,
  );

/**
 * The audit event of someone editing or deleting another user's post or
 * comment (a moderator or an admin), as statements to put in the same
 * `db.batch` as the write, BEFORE it: an `INSERT … SELECT` from the row
 * itself, so it records the text as it was just before the change, and it
 * inserts nothing when the row is gone or the actor is its author (editing
 * your own content is not moderation). `after` holds the fields the edit
 * sets; a delete has none. Actors who may only modify their own content get
 * no statement at all, keeping their writes as small as before.
 * The event's target is the author, so `GET /audit?userId=` shows what
 * moderators did to a user's content.
 */
export function moderationAudit(
  db: Db,
  actor: Actor | ActorInWrite,
  ip: string | null,
  event: { subject: Subject; id: string; action: AuditAction; after?: Record<string, string> },
): SQLiteInsertSelect[] {
  // An actor whose role is decided in the write (requireAuthInWrite) gets the statement, under the same role rule.
  const inWrite = isInWrite(actor);
  if (!inWrite && !can(actor.role, "content:modify-any")) return [];
  const { table, id, authorId, ref, text } = SUBJECTS[event.subject];
  const before = sql`json_object(${jsonObject(text)})`;
  const details: SQL = event.after
    ? sql`json_object(${ref}, 'before', ${before}, 'after', json(${JSON.stringify(event.after)}))`
    : sql`json_object(${ref}, 'before', ${before})`;
  // In the audit table's column order, which is the order INSERT … SELECT fills them in.
  const row = db
    .select({
      id: sql`${crypto.randomUUID()}`.as("id"),
      action: sql`${event.action}`.as("action"),
      actorId: sql`${actor.id}`.as("actor_id"),
      targetId: authorId,
      ip: sql`${ip}`.as("ip"),
      details: details.as("details"),
      createdAt: sql`${new Date().toISOString()}`.as("created_at"),
    })
    .from(table)
    .where(
      and(
        eq(id, event.id),
        ne(authorId, actor.id),
        inWrite ? and(roleMay(actor.id, "content:modify-any"), actor.holds) : undefined,
      ),
    );
  return [db.insert(auditEvents).select(row)];
}

type SQLiteInsertSelect = ReturnType<ReturnType<Db["insert"]>["select"]>;

/**
 * Statements for `db.batch` when the first one is known only at run time (an
 * optional audit row): the batch's type wants a non-empty tuple.
 */
export const batchOf = (...statements: BatchItem<"sqlite">[]) =>
  statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
