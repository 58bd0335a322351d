// Applies the migrations and seeds the bench data set straight into the local
// D1 database. Rows are generated inside SQLite (INSERT … SELECT over a
// recursive counter), one multi-row INSERT per chunk, so 260,000 rows take
// seconds rather than minutes of SQL text shipped from Node.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const SIZES = { users: 10_000, posts: 50_000, comments: 200_000 };
// Comments in smaller chunks: each insert also moves its post's comment_count (a trigger).
const CHUNKS = { users: 5_000, posts: 10_000, comments: 5_000 };

/** Posts whose comment pages the bench reads: the newest ones, each given this many comments. */
export const HOT_POSTS = 50;
const HOT_COMMENTS = 10_000;

const LOREM =
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore " +
  "magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo " +
  "consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. " +
  "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ";
const TEXT = LOREM.repeat(4);

/** A random version-4 UUID, as `crypto.randomUUID()` makes them (the API validates ids as UUIDs). */
const UUID = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
  || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

/** `n` from `from` to `to`, inclusive. */
const counter = (from, to) =>
  `with recursive seq(n) as (select ${from} union all select n + 1 from seq where n < ${to})`;

/** ISO timestamp `seconds` before now, as the app writes them. */
const ago = (seconds) => `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (${seconds}) || ' seconds')`;

const INSERT = {
  // Spread over the past year; user n is `usern@example.com`, every one with the same password hash.
  users: (from, to) => `${counter(from, to)}
    insert into users (id, username, email, password_hash, created_at, updated_at)
    select ${UUID}, 'user' || n, 'user' || n || '@example.com', ?1, ${ago(`(${SIZES.users} - n) * 3100`)},
      ${ago(`(${SIZES.users} - n) * 3100`)}
    from seq`,
  // One every ten minutes for the past year, authors spread over all users, 300-800 characters.
  posts: (from, to) => `${counter(from, to)}
    insert into posts (id, author_id, title, content, created_at, updated_at)
    select ${UUID}, u.id, 'Post ' || n || ': ' || substr(?1, 1 + n % 200, 40), substr(?1, 1 + n % 100, 300 + (n * 7919) % 500),
      ${ago(`(${SIZES.posts} - n) * 600`)}, ${ago(`(${SIZES.posts} - n) * 600`)}
    from seq join users u on u.rowid = 1 + (n * 7919) % ${SIZES.users}`,
  // The first ones go to the hot posts, the rest spread evenly; 40-240 characters, after their post.
  comments: (from, to) => `${counter(from, to)}
    insert into comments (id, post_id, author_id, content, created_at, updated_at)
    select ${UUID}, p.id, u.id, substr(?1, 1 + n % 300, 40 + n % 200),
      strftime('%Y-%m-%dT%H:%M:%fZ', p.created_at, '+' || (n % 600) || ' seconds'),
      strftime('%Y-%m-%dT%H:%M:%fZ', p.created_at, '+' || (n % 600) || ' seconds')
    from seq
    join posts p on p.rowid = case when n <= ${HOT_COMMENTS} then ${SIZES.posts} - n % ${HOT_POSTS}
      else 1 + (n * 7919) % ${SIZES.posts} end
    join users u on u.rowid = 1 + (n * 104729) % ${SIZES.users}`,
};

/**
 * Applies every migration file in name order, as the tests do
 * (`readD1Migrations`): hand-written migrations are not in drizzle's journal
 * until the next `drizzle-kit generate`.
 */
export async function applyMigrations(db, dir = "migrations") {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const statements = readFileSync(join(dir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch(statements.map((s) => db.prepare(s)));
  }
}

const progress = (table, done, total) => {
  const line = `  seeding ${table.padEnd(8)} ${done.toLocaleString("en").padStart(7)} / ${total.toLocaleString("en")}`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}${done === total ? "\n" : ""}`);
  else if (done === total) console.log(line);
};

/**
 * Seeds users, posts and comments, plus one admin (`benchadmin@example.com`).
 * Every seeded account shares `passwordHash`, hashed once by the caller.
 */
export async function seed(db, passwordHash) {
  for (const table of ["users", "posts", "comments"]) {
    const total = SIZES[table];
    const param = table === "users" ? passwordHash : TEXT;
    for (let from = 1; from <= total; from += CHUNKS[table]) {
      const to = Math.min(total, from + CHUNKS[table] - 1);
      await db.prepare(INSERT[table](from, to)).bind(param).run();
      progress(table, to, total);
    }
  }
  await db
    .prepare(
      `insert into users (id, username, email, password_hash, role) values (${UUID}, 'benchadmin', 'benchadmin@example.com', ?1, 'admin')`,
    )
    .bind(passwordHash)
    .run();
  const hot = await db.prepare("select id from posts where rowid = ?1").bind(SIZES.posts).first("id");
  return { hotPostId: hot };
}
