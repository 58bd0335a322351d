import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { type Actor, type ActorInWrite, assertOwnerOr, checkedActor, modifiableBy } from "../auth/permissions";
import { belowCap, contentLimitReached } from "../content-limits/limits";
import { type Db, nowIso } from "../db/client";
import { comments, posts, users } from "../db/schema";
import { nextCursor } from "../http/cursor";
import { notFound } from "../http/errors";
import { type PageQuery, startOf } from "../http/pagination";
import { batchOf, moderationAudit } from "../moderation/audit";
import { editedBy } from "../moderation/edited";

/**
 * A comment row, the author's username joined in the same SELECT. Column
 * names stay distinct because D1 returns batch rows keyed by name.
 */
export const selectComments = (db: Db) =>
  db
    .select({
      id: comments.id,
      postId: comments.postId,
      authorId: comments.authorId,
      authorUsername: users.username,
      content: comments.content,
      createdAt: comments.createdAt,
      updatedAt: comments.updatedAt,
      editedBy: comments.editedBy,
      editedAt: comments.editedAt,
    })
    .from(comments)
    .innerJoin(users, eq(users.id, comments.authorId));

type CommentRow = Awaited<ReturnType<typeof selectComments>>[number];

/** The API's Comment shape. */
export const toComment = (row: CommentRow) => ({
  id: row.id,
  postId: row.postId,
  authorId: row.authorId,
  author: { id: row.authorId, username: row.authorUsername },
  content: row.content,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  editedBy: row.editedBy,
  editedAt: row.editedAt,
});

export type Comment = ReturnType<typeof toComment>;

/**
 * One page of a post's comments, oldest first, in one round trip: the page,
 * and a row that exists only if the post does and carries the total (its
 * trigger-kept counter, not a count of the comments). As for
 * posts, the page's ids come from the (post_id, created_at, id) index alone,
 * so a deep page does not read and join every comment before it, and with a
 * `cursor` the index is sought past the previous page's last comment (keyset),
 * so a deep page reads what page 1 reads.
 */
export async function listComments(db: Db, postId: string, query: PageQuery) {
  const { limit } = query;
  const start = startOf("comments", query);
  const after = start.seek && sql`(${comments.createdAt}, ${comments.id}) > (${start.seek.key}, ${start.seek.id})`;
  const oldestFirst = [asc(comments.createdAt), asc(comments.id)];
  const pageIds = db
    .select({ id: comments.id })
    .from(comments)
    .where(and(eq(comments.postId, postId), after))
    .orderBy(...oldestFirst)
    .limit(limit)
    .offset(start.offset);
  const [rows, [post]] = await db.batch([
    selectComments(db)
      .where(inArray(comments.id, pageIds))
      .orderBy(...oldestFirst),
    db.select({ total: posts.commentCount }).from(posts).where(eq(posts.id, postId)),
  ]);
  if (!post) throw notFound("Post");
  const items = rows.map(toComment);
  const next = nextCursor("comments", start.page, items, limit, (c) => [c.createdAt, c.id]);
  return { items, total: post.total, page: start.page, nextCursor: next };
}

/**
 * Inserts the comment only if its post exists (INSERT … SELECT from the post's
 * row) and its author has fewer than `cap` comments (counted in the same
 * WHERE), and reads it back in the same batch: no read-back means no post (a
 * clean 404) or the cap (409), with no check-then-insert window and no
 * driver error to parse. `holds`: the author's session check, carried by the
 * insert so the whole request is one round trip (guard.ts `requireAuthInWrite`).
 */
export async function createComment(
  db: Db,
  authorId: string,
  postId: string,
  content: string,
  cap: number,
  holds: SQL,
) {
  const id = crypto.randomUUID();
  const now = nowIso();
  const [, [comment]] = await db.batch([
    db.insert(comments).select(
      db
        .select({
          id: sql`${id}`.as("id"),
          postId: posts.id,
          authorId: sql`${authorId}`.as("author_id"),
          content: sql`${content}`.as("content"),
          createdAt: sql`${now}`.as("created_at"),
          updatedAt: sql`${now}`.as("updated_at"),
          editedBy: sql`null`.as("edited_by"),
          editedAt: sql`null`.as("edited_at"),
        })
        .from(posts)
        .where(and(eq(posts.id, postId), belowCap(users.commentCount, authorId, cap), holds)),
    ),
    selectComments(db).where(eq(comments.id, id)),
  ]);
  if (!comment) {
    // Only on refusal: which condition failed? (A post deleted meanwhile is a 404 either way.)
    const post = await db.select({ id: posts.id }).from(posts).where(eq(posts.id, postId)).get();
    throw post ? contentLimitReached("comment", cap) : notFound("Post");
  }
  return toComment(comment);
}

/**
 * Changes the content only if the actor may; a missing comment is 404,
 * someone else's 403. An edit by someone other than the author is audited
 * (text before and after) in the same batch and marks `editedBy`/`editedAt`.
 */
export async function updateComment(
  db: Db,
  actor: Actor | ActorInWrite,
  id: string,
  content: string,
  ip: string | null,
) {
  const now = nowIso();
  const results = await db.batch(
    batchOf(
      // First: the audit row reads the text before the write changes it.
      ...moderationAudit(db, actor, ip, { subject: "comment", id, action: "comment_update", after: { content } }),
      db
        .update(comments)
        .set({ content, updatedAt: now, ...editedBy(actor, now, comments) })
        .where(and(eq(comments.id, id), modifiableBy(actor, comments.authorId))),
      selectComments(db).where(eq(comments.id, id)),
    ),
  );
  const [comment] = results.at(-1) as CommentRow[];
  if (!comment) throw notFound("Comment");
  assertOwnerOr(checkedActor(actor), comment.authorId, "content:modify-any");
  return toComment(comment);
}

/** Deletes the comment if the actor may; a delete by someone other than the author is audited with the text. */
export async function deleteComment(db: Db, actor: Actor | ActorInWrite, id: string, ip: string | null) {
  const [[comment]] = await db.batch([
    db.select({ authorId: comments.authorId }).from(comments).where(eq(comments.id, id)),
    ...moderationAudit(db, actor, ip, { subject: "comment", id, action: "comment_delete" }),
    db.delete(comments).where(and(eq(comments.id, id), modifiableBy(actor, comments.authorId))),
  ]);
  if (!comment) throw notFound("Comment");
  assertOwnerOr(checkedActor(actor), comment.authorId, "content:modify-any");
}
