import { env } from "cloudflare:workers";
import { api, registerAndLogin, type Session, setRole } from "./api";

export type Role = "user" | "moderator" | "admin";

/** A fresh user with the given role, logged in (the role is read from D1 on every request). */
export async function signedInAs(role: Role): Promise<Session> {
  const session = await registerAndLogin();
  if (role !== "user") await setRole(session.user.id, role);
  return session;
}

/**
 * Leaves `adminId` as the only active admin by demoting every other one. Test
 * storage is per test file, so this only touches admins the calling file made.
 */
export async function makeSoleActiveAdmin(adminId: string) {
  await setRole(adminId, "admin");
  await env.DB.prepare("update users set role = 'user' where role = 'admin' and id != ?").bind(adminId).run();
}

export const activeAdminCount = async () =>
  (
    await env.DB.prepare("select count(*) as n from users where role = 'admin' and status = 'active'").first<{
      n: number;
    }>()
  )?.n;

/** Inserts a post and a comment straight into D1 (the posts API is another feature's). */
export async function insertPostWithComment(authorId: string, commenterId = authorId) {
  const postId = crypto.randomUUID();
  const commentId = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare("insert into posts (id, author_id, title, content) values (?, ?, 'A post', 'Some content')").bind(
      postId,
      authorId,
    ),
    env.DB.prepare("insert into comments (id, post_id, author_id, content) values (?, ?, ?, 'A comment')").bind(
      commentId,
      postId,
      commenterId,
    ),
  ]);
  return { postId, commentId };
}

export const rowExists = async (table: "users" | "posts" | "comments" | "sessions", id: string) =>
  (await env.DB.prepare(`select 1 from ${table} where id = ?`).bind(id).first()) !== null;

export const me = (session: Session) => api("GET", "/me", { token: session.accessToken });
