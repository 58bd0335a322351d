import { and, count, desc, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import { type Actor, type ActorInWrite, assertOwnerOr, checkedActor, modifiableBy } from "../auth/permissions";
import { contentLimitReached } from "../content-limits/limits";
import { type Db, nowIso } from "../db/client";
import { posts, tableCounts, users } from "../db/schema";
import { startsWith } from "../db/search";
import { nextCursor } from "../http/cursor";
import { notFound } from "../http/errors";
import { type PageQuery, startOf } from "../http/pagination";
import { batchOf, moderationAudit } from "../moderation/audit";
import { editedBy } from "../moderation/edited";

/**
 * A post row from one SELECT: the author's username through a join and
 * `commentCount` from the post's own counter column (kept by triggers), so a
 * page of posts costs no extra queries and no read of any comment.
 * Every selected column has a distinct name on purpose: D1 returns batch rows
 * as objects keyed by column name, so a second "id" would overwrite the first.
 */
export const selectPosts = (db: Db) =>
  db
    .select({
      id: posts.id,
      authorId: posts.authorId,
      authorUsername: users.username,
      title: posts.title,
      content: posts.content,
      commentCount: posts.commentCount,
      createdAt: posts.createdAt,
      updatedAt: posts.updatedAt,
      editedBy: posts.editedBy,
      editedAt: posts.editedAt,
    })
    .from(posts)
    .innerJoin(users, eq(users.id, posts.authorId));

type PostRow = Awaited<ReturnType<typeof selectPosts>>[number];

/** The API's Post shape. */
export const toPost = (row: PostRow) => ({
  id: row.id,
  authorId: row.authorId,
  author: { id: row.authorId, username: row.authorUsername },
  title: row.title,
  content: row.content,
  commentCount: row.commentCount,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  editedBy: row.editedBy,
  editedAt: row.editedAt,
});

export type Post = ReturnType<typeof toPost>;

export type PostFilter = { authorId?: string; q?: string };

/**
 * One page of posts, newest first, and the total: two statements, one round trip.
 * The page's ids are picked first from the (created_at, id) index alone, and
 * only those rows are read and joined: with a plain OFFSET every skipped post
 * would be read and joined too (page 500 of 20 would read 10,000 rows).
 * With a `cursor` the ids are sought in that index after the last item of the
 * previous page (keyset), so no entry before it is walked either: a deep page
 * costs what page 1 costs. Unfiltered, the total is the trigger-kept count
 * rather than a count of every post; a filter's total counts only its index range.
 */
export async function listPosts(db: Db, query: PageQuery, filter: PostFilter) {
  const { limit } = query;
  const start = startOf("posts", query);
  const where: SQL | undefined = and(
    filter.authorId ? eq(posts.authorId, filter.authorId) : undefined,
    filter.q ? startsWith(posts.title, filter.q) : undefined,
  );
  const after = start.seek && sql`(${posts.createdAt}, ${posts.id}) < (${start.seek.key}, ${start.seek.id})`;
  const newestFirst = [desc(posts.createdAt), desc(posts.id)];
  const pageIds = db
    .select({ id: posts.id })
    .from(posts)
    .where(and(where, after))
    .orderBy(...newestFirst)
    .limit(limit)
    .offset(start.offset);
  const [rows, totals] = await db.batch([
    selectPosts(db)
      .where(inArray(posts.id, pageIds))
      .orderBy(...newestFirst),
    where
      ? db.select({ total: count() }).from(posts).where(where)
      : db.select({ total: tableCounts.total }).from(tableCounts).where(eq(tableCounts.tableName, "posts")),
  ]);
  const items = rows.map(toPost);
  const next = nextCursor("posts", start.page, items, limit, (p) => [p.createdAt, p.id]);
  return { items, total: totals[0]?.total ?? 0, page: start.page, nextCursor: next };
}

/**
 * Inserts the post only while its author has fewer than `cap` posts: an
 * `INSERT … SELECT` from the author's row whose WHERE counts them, so the
 * check and the insert are one statement and parallel creates cannot overrun
 * the cap. No read-back means the cap was reached (409). `holds`: the
 * author's session check, carried by the insert so the whole request is one
 * round trip (guard.ts `requireAuthInWrite`).
 */
export async function createPost(
  db: Db,
  authorId: string,
  input: { title: string; content: string },
  cap: number,
  holds: SQL,
) {
  const id = crypto.randomUUID();
  const now = nowIso();
  const [, [post]] = await db.batch([
    db.insert(posts).select(
      db
        .select({
          id: sql`${id}`.as("id"),
          authorId: users.id,
          title: sql`${input.title}`.as("title"),
          content: sql`${input.content}`.as("content"),
          createdAt: sql`${now}`.as("created_at"),
          updatedAt: sql`${now}`.as("updated_at"),
          editedBy: sql`null`.as("edited_by"),
          editedAt: sql`null`.as("edited_at"),
          commentCount: sql`0`.as("comment_count"),
        })
        .from(users)
        // Selected from the author's row already: its counter is compared in place, not read again (belowCap).
        .where(and(eq(users.id, authorId), lt(users.postCount, cap), holds)),
    ),
    selectPosts(db).where(eq(posts.id, id)),
  ]);
  if (!post) throw contentLimitReached("post", cap);
  return toPost(post);
}

export async function findPost(db: Db, id: string) {
  const post = await selectPosts(db).where(eq(posts.id, id)).get();
  if (!post) throw notFound("Post");
  return toPost(post);
}

/**
 * Applies the changes only if the actor may modify the post, and reads the
 * post back in the same batch: a missing post is 404, someone else's is 403.
 * An edit by someone other than the author (a moderator or admin) is audited
 * with the text before and after, in the same batch, and marks the post
 * `editedBy`/`editedAt`.
 */
export async function updatePost(
  db: Db,
  actor: Actor | ActorInWrite,
  id: string,
  changes: { title?: string; content?: string },
  ip: string | null,
) {
  const now = nowIso();
  const audit = moderationAudit(db, actor, ip, { subject: "post", id, action: "post_update", after: changes });
  const write = db
    .update(posts)
    .set({ ...changes, updatedAt: now, ...editedBy(actor, now, posts) })
    .where(and(eq(posts.id, id), modifiableBy(actor, posts.authorId)));
  // The audit row (if any) goes first: it reads the text before the write changes it.
  const results = await db.batch(batchOf(...audit, write, selectPosts(db).where(eq(posts.id, id))));
  const [post] = results.at(-1) as PostRow[];
  if (!post) throw notFound("Post");
  assertOwnerOr(checkedActor(actor), post.authorId, "content:modify-any");
  return toPost(post);
}

/**
 * Deletes the post if the actor may; its comments go with it (ON DELETE
 * CASCADE). A delete by someone other than the author is audited, with the
 * text that was deleted, in the same batch.
 */
export async function deletePost(db: Db, actor: Actor | ActorInWrite, id: string, ip: string | null) {
  const [[post]] = await db.batch([
    db.select({ authorId: posts.authorId }).from(posts).where(eq(posts.id, id)),
    ...moderationAudit(db, actor, ip, { subject: "post", id, action: "post_delete" }),
    db.delete(posts).where(and(eq(posts.id, id), modifiableBy(actor, posts.authorId))),
  ]);
  if (!post) throw notFound("Post");
  assertOwnerOr(checkedActor(actor), post.authorId, "content:modify-any");
}
