// ADMIN_PASSWORD=… npm run create-admin -- --email E [--username U] [--promote] [--remote]
// npm run create-admin -- --email E            (asks for the password, without echo)
//
// Creates an active, verified admin in the local D1 database or, with
// --remote, the deployed one. The password is hashed by the Worker's own
// bcrypt code and must pass the same rules as at registration.
//
// An email that already has an account is refused: anyone may have registered
// it first (the API is public before the admin exists), and promoting that
// account would hand admin to its owner, with their password and their live
// sessions. --promote is the operator saying "that account is mine": it is
// promoted, and its password replaced by the one given here, its email marked
// verified, every one of its sessions revoked, and all of it audited.
//
// The password never appears on a command line (npm echoes the command it
// runs, and shells keep history): it comes from ADMIN_PASSWORD, or from a
// prompt that does not echo, or from the first line of a piped stdin.
import "./lib/pinned-node.mjs";
import { parseArgs } from "node:util";
import { applyLocalMigrations, executeSql, explainD1Error, sqlString } from "./lib/d1.mjs";
import { readPassword } from "./lib/read-password.mjs";
import { emailField, hashPassword, passwordProblems, usernameField, workerVar } from "./lib/worker-code.mjs";

const USAGE = `Usage: ADMIN_PASSWORD=… npm run create-admin -- --email E [--username U] [--promote] [--remote]
       npm run create-admin -- --email E …   (without ADMIN_PASSWORD: asks for the password, without echo)

  --email      the admin's email
  --username   3-32 of letters, digits, "_", "." or "-" (default: from the email)
  --promote    the email already has an account and it is yours: make it an admin, replace its
               password with this one, mark its email verified and revoke all of its sessions
  --remote     write to the deployed D1 database instead of the local one
  --persist-to directory of the local database (default: wrangler's, as \`npm run dev\` uses)

The password comes from ADMIN_PASSWORD, the prompt, or the first line of a piped stdin;
never from the command line, which npm prints.`;

function fail(message) {
  console.error(`create-admin: ${message}`);
  process.exit(1);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      email: { type: "string" },
      // Declared only to refuse it with a useful message instead of "unknown option".
      password: { type: "string" },
      username: { type: "string" },
      promote: { type: "boolean", default: false },
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
if (args.password !== undefined) {
  fail(
    "--password is not accepted: npm prints the command line it runs, and shells keep it in their history. " +
      "Set ADMIN_PASSWORD, or leave it unset to be asked for the password.",
  );
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

const password = await readPassword({ env: "ADMIN_PASSWORD", prompt: `Password for ${email.data}: ` });
if (!password) fail("no password given (set ADMIN_PASSWORD, or type it at the prompt)");
const problems = passwordProblems(password, workerVar("PASSWORD_MIN_LENGTH", 12), {
  email: email.data,
  username: username.data,
});
if (problems.length) fail(`the password is not acceptable:\n${problems.map((p) => `  - ${p.message}`).join("\n")}`);
const passwordHash = await hashPassword(password, workerVar("BCRYPT_COST", 10));

const target = { remote: args.remote, persistTo: args["persist-to"] };
const where = args.remote ? "the deployed database" : "the local database";

try {
  if (!args.remote) applyLocalMigrations(target);
  // Looked up first only to choose the path and explain a refusal; each write
  // below re-checks the email itself, so a registration racing this script
  // makes the INSERT fail rather than slip through.
  const [[existing]] = executeSql(`select id, role from users where email = ${sqlString(email.data)};`, target);
  if (existing && !args.promote) {
    fail(
      `an account with the email ${email.data} already exists (role ${existing.role}). ` +
        "Anyone can register an email address, so it is not promoted unless you say it is yours: " +
        "run again with --promote to make it an admin with the password you give here, its email " +
        "verified and every one of its sessions signed out.",
    );
  }

  const now = new Date().toISOString();

  if (existing) {
    const [user] = executeSql(promoteSql(email.data, passwordHash, now), target).at(-1);
    if (!user) fail(`the account with the email ${email.data} disappeared before it could be promoted`);
    console.log(
      `Promoted ${user.username} <${user.email}> (id ${user.id}) to active admin in ${where}: ` +
        "password replaced, email verified, every session revoked.",
    );
  } else {
    const [[user]] = executeSql(createSql(email.data, username.data, passwordHash, now), target);
    console.log(`Created admin ${user.username} <${user.email}> (id ${user.id}) in ${where}.`);
  }
} catch (error) {
  const message = explainD1Error(error, target);
  if (message.includes("users.email")) {
    fail(`an account with the email ${email.data} was registered meanwhile; run again (with --promote if it is yours)`);
  }
  if (message.includes("users.username")) {
    fail(`the username "${username.data}" belongs to another account; choose another with --username`);
  }
  fail(message);
}

/**
 * A new admin: a plain INSERT (a taken email fails it, nothing is promoted),
 * and its audit row, written only if the account now exists.
 */
function createSql(address, name, passwordHash, now) {
  const id = crypto.randomUUID();
  return `
insert into users (id, username, email, password_hash, role, status, email_verified_at, created_at, updated_at)
values (${[id, name, address, passwordHash].map(sqlString).join(", ")}, 'admin', 'active', ${sqlString(now)}, ${sqlString(now)}, ${sqlString(now)})
returning id, username, email;
insert into audit_events (id, action, actor_id, target_id, ip, details, created_at)
select ${sqlString(crypto.randomUUID())}, 'role_change', null, id, null,
  '{"to":"admin","source":"create-admin","created":true}', ${sqlString(now)}
from users where id = ${sqlString(id)};`;
}

/**
 * Takes over an existing account for its rightful owner: audited first (so
 * the event records the role it had), then every session revoked, failed
 * logins, any second factor and any pending email change (the other party's)
 * dropped, then role, status, password and verification set. Each statement finds the account by
 * its email, so all three act on the same row.
 */
function promoteSql(address, passwordHash, now) {
  const byEmail = `email = ${sqlString(address)}`;
  return `
insert into audit_events (id, action, actor_id, target_id, ip, details, created_at)
select ${sqlString(crypto.randomUUID())}, 'role_change', null, id, null,
  json_object('from', role, 'to', 'admin', 'source', 'create-admin', 'promoted', json('true'),
    'passwordReplaced', json('true'), 'emailVerified', json('true'),
    'sessionsRevoked', (select count(*) from sessions where user_id = users.id and revoked_at is null)),
  ${sqlString(now)}
from users where ${byEmail};
update sessions set revoked_at = ${sqlString(now)}
where revoked_at is null and user_id = (select id from users where ${byEmail});
delete from login_failures where email = lower(${sqlString(address)});
delete from totp_credentials where user_id = (select id from users where ${byEmail});
delete from recovery_codes where user_id = (select id from users where ${byEmail});
update users set role = 'admin', status = 'active', password_hash = ${sqlString(passwordHash)},
  email_verified_at = coalesce(email_verified_at, ${sqlString(now)}), mfa_enabled_at = null,
  pending_email = null, pending_email_expires_at = null, updated_at = ${sqlString(now)}
where ${byEmail}
returning id, username, email;`;
}
