import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { api, unique } from "./api";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Text that breaks naive storage: astral emoji and ZWJ sequences, RTL with a mark, combining marks, NUL, BOM, CRLF. */
export const UNICODE_TEXT =
  "emoji 😀 👩‍👩‍👧‍👦 🏳️‍🌈 | RTL שלום مرحبا \u200F! | combining e\u0301 a\u0308\u0323 | NUL[\u0000] | BOM[\uFEFF] | 漢字 | line\r\nbreak\ttab";

/** Strings that would change a query if they were ever spliced into SQL or a LIKE pattern. */
export const SQL_METACHARACTERS = [
  "'; DROP TABLE posts; --",
  '" OR 1=1 --',
  "Robert'); DELETE FROM comments; --",
  "100% _wild_ \\ \\\\ \\% \\_ ' \" ` ; /* */",
];

export async function createPost(token: string, fields: { title?: string; content?: string } = {}) {
  const res = await api("POST", "/posts", {
    token,
    body: { title: fields.title ?? unique("Title "), content: fields.content ?? "Some content" },
  });
  expect(res.status).toBe(201);
  return res.body.data.post;
}

export async function createComment(token: string, postId: string, content = "A comment") {
  const res = await api("POST", `/posts/${postId}/comments`, { token, body: { content } });
  expect(res.status).toBe(201);
  return res.body.data.comment;
}

/** Pins a row's timestamps, so ordering tests do not depend on two requests landing in different milliseconds. */
export const setTimestamps = (table: "posts" | "comments", id: string, createdAt: string, updatedAt = createdAt) =>
  env.DB.prepare(`update ${table} set created_at = ?, updated_at = ? where id = ?`)
    .bind(createdAt, updatedAt, id)
    .run();

export const countRows = async (sql: string, ...values: unknown[]) =>
  (await env.DB.prepare(`select count(*) as n from ${sql}`)
    .bind(...values)
    .first<number>("n")) ?? 0;
