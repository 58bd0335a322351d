import { env } from "cloudflare:workers";

/** Direct D1 access for tests that set up a state the API cannot (yet) produce, or check what it stored. */

export type UserDbRow = {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  role: string;
  status: string;
};

export const userRowByEmail = (email: string) =>
  env.DB.prepare("select * from users where email = ?").bind(email).first<UserDbRow>();

export const countUsersWithEmail = async (email: string) =>
  (await env.DB.prepare("select count(*) as n from users where email = ?").bind(email).first<number>("n")) ?? 0;

export const suspendUser = (id: string) =>
  env.DB.prepare("update users set status = 'suspended' where id = ?").bind(id).run();

export const deleteUserRow = (id: string) => env.DB.prepare("delete from users where id = ?").bind(id).run();

const in15Minutes = () => new Date(Date.now() + 15 * 60_000).toISOString();

/**
 * Puts a failure counter of an email where a test needs it. `scope` is
 * `account`, `net:<IPv4 or IPv6 /64>` or `session:<id>` (see src/auth/lockout/failures.ts).
 */
export const setFailures = (email: string, scope: string, failures: number, expiresAt = in15Minutes()) =>
  env.DB.prepare("insert or replace into login_failures (email, scope, failures, expires_at) values (?, ?, ?, ?)")
    .bind(email, scope, failures, expiresAt)
    .run();

/** The live failure counters of an email, by scope. */
export async function failuresOf(email: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    "select scope, failures from login_failures where email = ? and expires_at > ?",
  )
    .bind(email, new Date().toISOString())
    .all<{ scope: string; failures: number }>();
  return Object.fromEntries(results.map((r) => [r.scope, r.failures]));
}

/** Every row a query returns, for comparing what D1 holds before and after an attack. */
export const rows = async (sql: string, ...values: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...values)
      .all()
  ).results;
