import { env } from "cloudflare:workers";

/** Direct D1 access for tests that set up a state the API cannot (yet) produce, or check what it stored. */

export type UserDbRow = {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  role: string;
  status: string;
  failed_login_count: number;
  locked_until: string | null;
};

export const userRowByEmail = (email: string) =>
  env.DB.prepare("select * from users where email = ?").bind(email).first<UserDbRow>();

export const countUsersWithEmail = async (email: string) =>
  (await env.DB.prepare("select count(*) as n from users where email = ?").bind(email).first<number>("n")) ?? 0;

export const suspendUser = (id: string) =>
  env.DB.prepare("update users set status = 'suspended' where id = ?").bind(id).run();

export const deleteUserRow = (id: string) => env.DB.prepare("delete from users where id = ?").bind(id).run();

/** Puts an account's lockout counters where a test needs them. */
export const setLoginFailures = (id: string, count: number, lockedUntil: string | null = null) =>
  env.DB.prepare("update users set failed_login_count = ?, locked_until = ? where id = ?")
    .bind(count, lockedUntil, id)
    .run();

/** Every row a query returns, for comparing what D1 holds before and after an attack. */
export const rows = async (sql: string, ...values: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...values)
      .all()
  ).results;
