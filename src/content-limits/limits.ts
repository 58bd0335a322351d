import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Context } from "hono";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { AppError, tooManyRequests } from "../http/errors";

/** RATE_LIMIT_CONTENT's window (wrangler.toml): the longest a writer must wait. */
const WINDOW_SECONDS = 60;

export type ContentKind = "post" | "comment";

/**
 * Called first thing in a write's handler (after `requireAuth` and the
 * validators, so a malformed request spends nothing): counts a post or comment write
 * (create or edit) against the signed-in user's budget in RATE_LIMIT_CONTENT
 * and refuses with 429 and `Retry-After` past it. Keyed by user, not IP: one
 * token must not be able to fill D1 (and a full D1 fails every write, logins
 * included) from however many addresses. Posts and comments count apart.
 */
export async function limitContentWrites(c: Context<AppEnv>, kind: ContentKind) {
  const { success } = await c.env.RATE_LIMIT_CONTENT.limit({ key: `${kind}:user:${c.var.user.id}` });
  if (!success) throw tooManyRequests(WINDOW_SECONDS);
}

/**
 * The WHERE of an `INSERT … SELECT` that adds a row only while its author's
 * `counter` (users.post_count or users.comment_count, kept by triggers) is
 * below `cap`: one row read however much they wrote. The check and the insert
 * (whose trigger moves the counter) are one statement, so parallel creates
 * cannot overrun the cap.
 */
export const belowCap = (counter: SQLiteColumn, authorId: string, cap: number): SQL =>
  sql`(select ${counter} from ${users} where ${users.id} = ${authorId}) < ${cap}`;

/** The answer when an insert matched no row because its author is at the cap. */
export const contentLimitReached = (kind: ContentKind, cap: number) =>
  new AppError(
    409,
    "CONTENT_LIMIT_REACHED",
    `You have reached the limit of ${cap} ${kind}s per account; delete some to write new ones`,
  );
