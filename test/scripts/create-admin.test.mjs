// npm run test:scripts — `npm run create-admin` against a throwaway local D1,
// run as an operator would (in Node, through wrangler), from the attacker's
// side: the email was registered by someone else before the admin existed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compareSync, hashSync } from "bcrypt-ts";
import { executeSql, sqlString } from "../../scripts/lib/d1.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const ADMIN_PASSWORD = "operator-chosen-passphrase-7";
const ATTACKER_PASSWORD = "attacker-knows-this-one-3";

const persistTo = mkdtempSync(join(tmpdir(), "create-admin-test-"));
const target = { persistTo };
after(() => rmSync(persistTo, { recursive: true, force: true }));

/** Runs the script; `password` goes in ADMIN_PASSWORD, `stdin` is piped (never a TTY here). */
function createAdmin(args, { password, stdin = "" } = {}) {
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", BCRYPT_COST: "4" };
  delete env.ADMIN_PASSWORD;
  if (password !== undefined) env.ADMIN_PASSWORD = password;
  const result = spawnSync(
    process.execPath,
    [
      "--experimental-transform-types",
      "--disable-warning=ExperimentalWarning",
      "scripts/create-admin.mjs",
      ...args,
      "--persist-to",
      persistTo,
    ],
    { cwd: ROOT, env, input: stdin, encoding: "utf8", timeout: 120_000 },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The account with this email, its live sessions and its role_change audit events: one wrangler run. */
function stateOf(email) {
  const byEmail = `(select id from users where email = ${sqlString(email)})`;
  const [[user], [sessions], audit] = executeSql(
    `select * from users where email = ${sqlString(email)};
select count(*) as live from sessions where user_id = ${byEmail} and revoked_at is null;
select details from audit_events where action = 'role_change' and target_id = ${byEmail};`,
    target,
  );
  return { user, liveSessions: sessions.live, audit: audit.map((e) => JSON.parse(e.details)) };
}

/** An account as /register would leave it, with two live sessions, a pending email change and a second factor: the attacker's. */
function registerAttacker(email) {
  const id = crypto.randomUUID();
  const future = new Date(Date.now() + 86_400_000).toISOString();
  const session = () =>
    `insert into sessions (id, user_id, refresh_token_hash, expires_at) values (${sqlString(crypto.randomUUID())}, ${sqlString(id)}, ${sqlString(crypto.randomUUID())}, ${sqlString(future)});`;
  executeSql(
    `insert into users (id, username, email, password_hash, pending_email, pending_email_expires_at, mfa_enabled_at)
values (${sqlString(id)}, ${sqlString(`att_${id.slice(0, 8)}`)}, ${sqlString(email)}, ${sqlString(hashSync(ATTACKER_PASSWORD, 4))},
  ${sqlString(`moved-${id}@attacker.example`)}, ${sqlString(future)}, ${sqlString(new Date().toISOString())});
insert into totp_credentials (user_id, secret_ciphertext, confirmed_at) values (${sqlString(id)}, 'v1.attacker.secret', ${sqlString(new Date().toISOString())});
${session()}
${session()}`,
    target,
  );
  return id;
}

describe("npm run create-admin", () => {
  before(() => {
    // The first run migrates the throwaway database.
    const { status, output } = createAdmin(["--email", "first-admin@example.com"], { password: ADMIN_PASSWORD });
    assert.equal(status, 0, output);
    assert.match(output, /Created admin/);
    assert.doesNotMatch(output, new RegExp(ADMIN_PASSWORD));
  });

  it("creates a verified active admin from ADMIN_PASSWORD, audited, never printing the password", () => {
    const { user, audit } = stateOf("first-admin@example.com");
    assert.equal(user.role, "admin");
    assert.equal(user.status, "active");
    assert.ok(user.email_verified_at);
    assert.ok(compareSync(ADMIN_PASSWORD, user.password_hash));
    assert.deepEqual(audit, [{ to: "admin", source: "create-admin", created: true }]);
  });

  it("refuses an email someone already registered, and leaves that account exactly as it was", () => {
    const email = `ops-admin-${Date.now()}@example.com`;
    const id = registerAttacker(email);
    const beforeRun = stateOf(email);
    const { status, output } = createAdmin(["--email", email], { password: ADMIN_PASSWORD });
    assert.equal(status, 1);
    assert.match(output, /already exists/);
    assert.match(output, /--promote/);
    assert.deepEqual(stateOf(email), beforeRun);
    assert.equal(beforeRun.user.id, id);
    assert.equal(beforeRun.user.role, "user");
    assert.equal(beforeRun.liveSessions, 2);
    assert.deepEqual(beforeRun.audit, []);
  });

  it("with --promote: sets the given password, verifies the email, revokes every session, and audits it", () => {
    const email = `ops-admin-${Date.now()}@example.com`;
    const id = registerAttacker(email);
    const { status, output } = createAdmin(["--email", email, "--promote"], { password: ADMIN_PASSWORD });
    assert.equal(status, 0, output);
    assert.doesNotMatch(output, new RegExp(ADMIN_PASSWORD));
    const { user, liveSessions, audit } = stateOf(email);
    assert.equal(user.id, id);
    assert.equal(user.role, "admin");
    assert.ok(user.email_verified_at);
    assert.ok(compareSync(ADMIN_PASSWORD, user.password_hash));
    assert.ok(!compareSync(ATTACKER_PASSWORD, user.password_hash));
    assert.equal(liveSessions, 0);
    // The attacker's pending email change and second factor go with their password.
    assert.equal(user.pending_email, null);
    assert.equal(user.mfa_enabled_at, null);
    assert.deepEqual(
      executeSql(`select count(*) as n from totp_credentials where user_id = ${sqlString(id)};`, target)[0],
      [{ n: 0 }],
    );
    assert.deepEqual(audit, [
      {
        from: "user",
        to: "admin",
        source: "create-admin",
        promoted: true,
        passwordReplaced: true,
        emailVerified: true,
        sessionsRevoked: 2,
      },
    ]);
  });

  it("refuses --password on the command line, whatever it holds", () => {
    const email = `cli-${Date.now()}@example.com`;
    const { status, output } = createAdmin(["--email", email, "--password", ADMIN_PASSWORD]);
    assert.equal(status, 1);
    assert.match(output, /--password is not accepted/);
    assert.doesNotMatch(output, new RegExp(ADMIN_PASSWORD));
  });

  it("reads the password from a piped stdin when ADMIN_PASSWORD is unset, and refuses a weak or missing one", () => {
    const email = `piped-${Date.now()}@example.com`;
    const piped = createAdmin(["--email", email], { stdin: `${ADMIN_PASSWORD}\n` });
    assert.equal(piped.status, 0, piped.output);
    assert.ok(compareSync(ADMIN_PASSWORD, stateOf(email).user.password_hash));

    const weak = createAdmin(["--email", `weak-${Date.now()}@example.com`], { password: "password" });
    assert.equal(weak.status, 1);
    assert.match(weak.output, /not acceptable/);
    const missing = createAdmin(["--email", `none-${Date.now()}@example.com`], { stdin: "" });
    assert.equal(missing.status, 1);
    assert.match(missing.output, /no password given/);
  });
});
