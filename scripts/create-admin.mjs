// npm run create-admin -- --email E --password P [--username U] [--remote]
//
// Creates an active admin, or promotes (and reactivates) the account that
// already has that email, in the local D1 database or, with --remote, the
// deployed one. The password is hashed by the Worker's own bcrypt code and
// must pass the same rules as at registration; an existing account keeps its
// password. The password may come from ADMIN_PASSWORD instead of --password,
// which keeps it out of shell history.
import "./lib/pinned-node.mjs";
import { parseArgs } from "node:util";
import { applyLocalMigrations, executeSql, explainD1Error, sqlString } from "./lib/d1.mjs";
import { emailField, hashPassword, passwordProblems, usernameField, workerVar } from "./lib/worker-code.mjs";

const USAGE = `Usage: npm run create-admin -- --email E --password P [--username U] [--remote]

  --email      the admin's email (an existing account with it is promoted)
  --password   the new account's password (or set ADMIN_PASSWORD)
  --username   3-32 of letters, digits, "_", "." or "-" (default: from the email)
  --remote     write to the deployed D1 database instead of the local one
  --persist-to directory of the local database (default: wrangler's, as \`npm run dev\` uses)`;

function fail(message) {
  console.error(`create-admin: ${message}`);
  process.exit(1);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      email: { type: "string" },
      password: { type: "string" },
      username: { type: "string" },
      remote: { type: "boolean", default: false },
      "persist-to": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(`${error.message}\n\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

if (!args.email) fail(`--email is required\n\n${USAGE}`);
const email = emailField.safeParse(args.email);
if (!email.success) fail(`"${args.email}" is not a valid email address`);

/** A valid username from the email's local part: "jane.doe+x@…" becomes "jane.doe_x". */
const usernameFromEmail = (address) =>
  address
    .split("@")[0]
    .replaceAll(/[^A-Za-z0-9_.-]/g, "_")
    .slice(0, 32)
    .padEnd(3, "_");

const username = usernameField.safeParse(args.username ?? usernameFromEmail(email.data));
if (!username.success) fail(`"${args.username}" is not a valid username: ${username.error.issues[0].message}`);

const password = args.password ?? process.env.ADMIN_PASSWORD;
if (!password) fail(`--password (or ADMIN_PASSWORD) is required\n\n${USAGE}`);
const problems = passwordProblems(password, workerVar("PASSWORD_MIN_LENGTH", 12), {
  email: email.data,
  username: username.data,
});
if (problems.length) fail(`the password is not acceptable:\n${problems.map((p) => `  - ${p.message}`).join("\n")}`);

const target = { remote: args.remote, persistTo: args["persist-to"] };
const now = new Date().toISOString();
const id = crypto.randomUUID();
const passwordHash = await hashPassword(password, workerVar("BCRYPT_COST", 10));

// One upsert keyed on the email: a new row, or the existing one promoted. The
// audit row records who was made admin, and that it came from the command line.
const sql = `
insert into users (id, username, email, password_hash, role, status, email_verified_at, created_at, updated_at)
values (${[id, username.data, email.data, passwordHash].map(sqlString).join(", ")}, 'admin', 'active', ${sqlString(now)}, ${sqlString(now)}, ${sqlString(now)})
on conflict (email) do update set role = 'admin', status = 'active', updated_at = excluded.updated_at
returning id, username, email, id = ${sqlString(id)} as created;
insert into audit_events (id, action, actor_id, target_id, ip, details, created_at)
select ${sqlString(crypto.randomUUID())}, 'role_change', null, id, null, '{"to":"admin","source":"create-admin"}', ${sqlString(now)}
from users where email = ${sqlString(email.data)};`;

try {
  if (!args.remote) applyLocalMigrations(target);
  const [[user]] = executeSql(sql, target);
  const where = args.remote ? "the deployed database" : "the local database";
  if (user.created) {
    console.log(`Created admin ${user.username} <${user.email}> (id ${user.id}) in ${where}.`);
  } else {
    console.log(
      `Promoted existing account ${user.username} <${user.email}> (id ${user.id}) to active admin in ${where}; its password is unchanged.`,
    );
  }
} catch (error) {
  const message = explainD1Error(error, target);
  if (message.includes("users.username")) {
    fail(`the username "${username.data}" belongs to another account; choose another with --username`);
  }
  fail(message);
}
