import { and, count, desc, eq, inArray, type SQL } from "drizzle-orm";
import { type Actor, assertOwnerOr, modifiableBy } from "../auth/permissions";
import { type Db, nowIso } from "../db/client";
import { posts, tableCounts, users } from "../db/schema";
import { startsWith } from "../db/search";
import { notFound } from "../http/errors";
import type { PageQuery } from "../http/pagination";

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
});

export type Post = ReturnType<typeof toPost>;

export type PostFilter = { authorId?: string; q?: string };

/**
 * One page of posts, newest first, and the total: two statements, one round trip.
 * The page's ids are picked first from the (created_at, id) index alone, and
 * only those rows are read and joined: with a plain OFFSET every skipped post
 * would be read and joined too (page 500 of 20 would read 10,000 rows).
 * Unfiltered, the total is the trigger-kept count rather than a count of
 * every post; a filter's total counts only its index range.
 */
export async function listPosts(db: Db, { page, limit }: PageQuery, filter: PostFilter) {
  const where: SQL | undefined = and(
    filter.authorId ? eq(posts.authorId, filter.authorId) : undefined,
    filter.q ? startsWith(posts.title, filter.q) : undefined,
  );
  const newestFirst = [desc(posts.createdAt), desc(posts.id)];
  const pageIds = db
    .select({ id: posts.id })
    .from(posts)
    .where(where)
    .orderBy(...newestFirst)
    .limit(limit)
    .offset((page - 1) * limit);
  const [items, totals] = await db.batch([
    selectPosts(db)
      .where(inArray(posts.id, pageIds))
      .orderBy(...newestFirst),
    where
      ? db.select({ total: count() }).from(posts).where(where)
      : db.select({ total: tableCounts.total }).from(tableCounts).where(eq(tableCounts.tableName, "posts")),
  ]);
  return { items: items.map(toPost), total: totals[0]?.total ?? 0 };
}

export async function createPost(db: Db, authorId: string, input: { title: string; content: string }) {
  const id = crypto.randomUUID();
  const now = nowIso();
  const [, [post]] = await db.batch([
    db.insert(posts).values({ id, authorId, ...input, createdAt: now, updatedAt: now }),
    selectPosts(db).where(eq(posts.id, id)),
  ]);
  if (!post) throw new Error("created post was not read back");
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
 */
export async function updatePost(db: Db, actor: Actor, id: string, changes: { title?: string; content?: string }) {
  const [, [post]] = await db.batch([
    db
      .update(posts)
      .set({ ...changes, updatedAt: nowIso() })
      .where(and(eq(posts.id, id), modifiableBy(actor, posts.authorId))),
    selectPosts(db).where(eq(posts.id, id)),
  ]);
  if (!post) throw notFound("Post");
  assertOwnerOr(actor, post.authorId, "content:modify-any");
  return toPost(post);
}

/** Deletes the post if the actor may; its comments go with it (ON DELETE CASCADE). */
export async function deletePost(db: Db, actor: Actor, id: string) {
  const [[post]] = await db.batch([
    db.select({ authorId: posts.authorId }).from(posts).where(eq(posts.id, id)),
    db.delete(posts).where(and(eq(posts.id, id), modifiableBy(actor, posts.authorId))),
  ]);
  if (!post) throw notFound("Post");
  assertOwnerOr(actor, post.authorId, "content:modify-any");
}
