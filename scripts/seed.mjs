// npm run db:seed [-- --persist-to DIR]
//
// Fills the LOCAL database with a small living system: an admin, a moderator
// and three users, with posts and comments. Each account gets a fresh random
// password, printed once here and stored nowhere else. Running it again
// replaces the demo accounts (and everything they wrote) with new ones; no
// other account is touched. There is deliberately no --remote.
import "./lib/pinned-node.mjs";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { applyLocalMigrations, executeSql, explainD1Error, sqlString } from "./lib/d1.mjs";
import { hashPassword, passwordProblems, workerVar } from "./lib/worker-code.mjs";

const { values: args } = parseArgs({ options: { "persist-to": { type: "string" } } });
const target = { persistTo: args["persist-to"] };

const DEMO_DOMAIN = "demo.example.com";
const ACCOUNTS = [
  { username: "demo_admin", role: "admin" },
  { username: "demo_moderator", role: "moderator" },
  { username: "demo_alice", role: "user" },
  { username: "demo_bob", role: "user" },
  { username: "demo_carol", role: "user" },
].map((a) => ({ ...a, id: crypto.randomUUID(), email: `${a.username}@${DEMO_DOMAIN}` }));

const POSTS = [
  ["demo_alice", "Hello from the edge", "First post: this API runs on Cloudflare Workers with D1 behind it."],
  [
    "demo_alice",
    "Rotating refresh tokens",
    "Every /refresh hands out a new token; replaying an old one ends the session.",
  ],
  ["demo_bob", "Roles in one table", "user, moderator and admin: the permission table is src/auth/permissions.ts."],
  ["demo_carol", "Pagination questions", "Is a page past the end an error? No: an empty list with the real total."],
  ["demo_moderator", "Community guidelines", "Be kind. Moderators may edit or remove any post or comment."],
].map(([author, title, content]) => ({ id: crypto.randomUUID(), author, title, content }));

/** [index into POSTS, author, text] */
const COMMENTS = [
  [0, "demo_bob", "Welcome aboard!"],
  [0, "demo_carol", "Nice to see this running."],
  [1, "demo_admin", "And a reused token revokes the whole session."],
  [2, "demo_alice", "One table is so much easier to review."],
  [3, "demo_moderator", "Exactly, and limit is 1 to 100."],
  [4, "demo_carol", "Noted, thanks."],
];

const byName = Object.fromEntries(ACCOUNTS.map((a) => [a.username, a]));
const minLength = workerVar("PASSWORD_MIN_LENGTH", 12);
const cost = workerVar("BCRYPT_COST", 10);

// Minutes in the past, so the newest-first listings look like a real history.
const ago = (minutes) => sqlString(new Date(Date.now() - minutes * 60_000).toISOString());
const values = (...items) => `(${items.join(", ")})`;

for (const account of ACCOUNTS) {
  account.password = `demo-${randomBytes(12).toString("base64url")}`;
  if (passwordProblems(account.password, minLength, account).length) throw new Error("generated a weak password");
  account.passwordHash = await hashPassword(account.password, cost);
}

const sql = [
  // Posts, comments and sessions of the old demo accounts go with them (ON DELETE CASCADE).
  `delete from users where email in (${ACCOUNTS.map((a) => sqlString(a.email)).join(", ")});`,
  `insert into users (id, username, email, password_hash, role, status, email_verified_at, created_at, updated_at) values ${ACCOUNTS.map(
    (a, i) =>
      values(
        ...[a.id, a.username, a.email, a.passwordHash, a.role].map(sqlString),
        "'active'",
        ago(600 - i),
        ago(600 - i),
        ago(600 - i),
      ),
  ).join(",\n")};`,
  `insert into posts (id, author_id, title, content, created_at, updated_at) values ${POSTS.map((p, i) =>
    values(...[p.id, byName[p.author].id, p.title, p.content].map(sqlString), ago(300 - i * 30), ago(300 - i * 30)),
  ).join(",\n")};`,
  `insert into comments (id, post_id, author_id, content, created_at, updated_at) values ${COMMENTS.map(
    ([post, author, text], i) =>
      values(
        ...[crypto.randomUUID(), POSTS[post].id, byName[author].id, text].map(sqlString),
        ago(100 - i),
        ago(100 - i),
      ),
  ).join(",\n")};`,
].join("\n");

try {
  applyLocalMigrations(target);
  executeSql(sql, target);
} catch (error) {
  const message = explainD1Error(error);
  const taken = message.includes("users.username") ? " (a username demo_* is taken by a non-demo account)" : "";
  console.error(`db:seed: ${message}${taken}`);
  process.exit(1);
}

console.log(`Seeded the local database: ${ACCOUNTS.length} accounts, ${POSTS.length} posts, ${COMMENTS.length} comments.
These passwords are shown once and stored nowhere else; run db:seed again for new ones.
`);
const rows = [
  ["email", "username", "role", "password"],
  ...ACCOUNTS.map((a) => [a.email, a.username, a.role, a.password]),
];
const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
for (const row of rows) console.log(`  ${row.map((cell, col) => cell.padEnd(widths[col])).join("  ")}`);
console.log("\nStart the API with `npm run dev`, then POST /login with one of these.");
