import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, registerAndLogin, type Session } from "./support/api";
import { expectFailure } from "./support/expect-failure";
import { signedInAs } from "./support/roles";

/**
 * Keyset pages (`cursor`, handed out as `meta.nextCursor`): a walk by cursor
 * gives every item exactly once, in the list's order, ties included; a cursor
 * is validated like any input and only works on the list (and sort) that made it.
 */
const as = (s: Session) => ({ token: s.accessToken });
const b64 = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

let author: Session;
let admin: Session;
let postId: string;
const TIED = 7;

beforeAll(async () => {
  author = await registerAndLogin();
  admin = await signedInAs("admin");
  // More users (and their login events in the audit trail) than one page holds.
  await Promise.all(Array.from({ length: 4 }, () => registerAndLogin()));
  // Posts and comments that share one created_at: the id breaks the tie, so none is skipped or repeated.
  const at = new Date(Date.now() - 60_000).toISOString();
  const inserts = Array.from({ length: TIED }, (_, i) =>
    env.DB.prepare("insert into posts (id, author_id, title, content, created_at) values (?, ?, ?, 'x', ?)").bind(
      crypto.randomUUID(),
      author.user.id,
      `Tied ${i}`,
      at,
    ),
  );
  await env.DB.batch(inserts);
  postId = (await api("POST", "/posts", { ...as(author), body: { title: "Commented", content: "x" } })).body.data.post
    .id;
  await env.DB.batch(
    Array.from({ length: TIED }, (_, i) =>
      env.DB.prepare("insert into comments (id, post_id, author_id, content, created_at) values (?, ?, ?, ?, ?)").bind(
        crypto.randomUUID(),
        postId,
        author.user.id,
        `c${i}`,
        at,
      ),
    ),
  );
});

/** Every item of a list, walked by cursor at `limit`, and the number of requests it took. */
async function walk(path: string, token: string, limit: number) {
  const ids: string[] = [];
  let next: string | null = null;
  let requests = 0;
  do {
    const cursor: string = next ? `&cursor=${encodeURIComponent(next)}` : "";
    const res = await api("GET", `${path}${path.includes("?") ? "&" : "?"}limit=${limit}${cursor}`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    requests++;
    expect(res.body.meta.page).toBe(requests);
    ids.push(...res.body.data.map((item: { id: string }) => item.id));
    next = res.body.meta.nextCursor;
  } while (next && requests < 100);
  return ids;
}

async function allAtOnce(path: string, token: string) {
  const res = await api("GET", `${path}${path.includes("?") ? "&" : "?"}limit=100`, { token });
  return res.body.data.map((item: { id: string }) => item.id) as string[];
}

describe("a walk by cursor: every item once, in order, ties included", () => {
  it.each([
    ["GET /posts?authorId=", () => `/posts?authorId=${author.user.id}`, () => author.accessToken],
    ["GET /posts/:id/comments", () => `/posts/${postId}/comments`, () => author.accessToken],
    ["GET /users (each sort)", () => "/users?sort=createdAt", () => admin.accessToken],
    ["GET /users?sort=-createdAt", () => "/users?sort=-createdAt", () => admin.accessToken],
    ["GET /users?sort=username", () => "/users?sort=username", () => admin.accessToken],
    ["GET /users?sort=email", () => "/users?sort=email", () => admin.accessToken],
    ["GET /audit", () => "/audit", () => admin.accessToken],
  ])("%s", async (_, path, token) => {
    const expected = await allAtOnce(path(), token());
    expect(expected.length).toBeGreaterThan(2);
    for (const limit of [1, 2, 3]) expect(await walk(path(), token(), limit)).toEqual(expected);
  });

  it("the last page says so: nextCursor is null when the page is not full", async () => {
    const res = await api("GET", `/posts/${postId}/comments?limit=100`, as(author));
    expect(res.body.meta.nextCursor).toBeNull();
  });
});

describe("a cursor is input: malformed or foreign ones are 400 VALIDATION_ERROR", () => {
  const malformed = [
    ["garbage", "%%%"],
    ["not base64url JSON", b64("hello")],
    ["the wrong shape", b64(JSON.stringify({ page: 2 }))],
    ["page 1 (a cursor always leads past it)", b64(JSON.stringify(["posts", 1, "2020-01-01T00:00:00.000Z", "abc"]))],
    ["an id with SQL in it", b64(JSON.stringify(["posts", 2, "x", "1' or '1'='1"]))],
    ["a huge page", b64(JSON.stringify(["posts", 1e12, "x", "abc"]))],
    ["an overlong key", b64(JSON.stringify(["posts", 2, "k".repeat(400), "abc"]))],
    ["an overlong cursor", "A".repeat(2000)],
  ];
  const lists = () => ["/posts", `/posts/${postId}/comments`, "/users", "/audit"];

  it.each(malformed)("%s", async (_, cursor) => {
    for (const path of lists()) {
      const res = await api("GET", `${path}?cursor=${encodeURIComponent(cursor as string)}`, as(admin));
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(res.body.error.details).toEqual([{ path: "cursor", message: expect.any(String) }]);
    }
  });

  it("a cursor of one list (or one sort) is refused by another", async () => {
    const posts = (await api("GET", "/posts?limit=1", as(admin))).body.meta.nextCursor;
    const byName = (await api("GET", "/users?limit=1&sort=username", as(admin))).body.meta.nextCursor;
    const foreign: [string, string][] = [
      [`/posts/${postId}/comments`, posts],
      ["/audit", posts],
      ["/users", posts],
      ["/users?sort=email", byName],
      ["/users?sort=-createdAt", byName],
    ];
    for (const [path, cursor] of foreign) {
      const res = await api(
        "GET",
        `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(cursor)}`,
        as(admin),
      );
      expectFailure(res, 400, "VALIDATION_ERROR");
    }
  });

  it("a cursor holds only what the list showed: the last item's sort key and id", async () => {
    const res = await api("GET", "/users?limit=1&sort=email", as(admin));
    const [user] = res.body.data;
    const decoded = JSON.parse(atob(res.body.meta.nextCursor.replaceAll("-", "+").replaceAll("_", "/")));
    expect(decoded).toEqual(["users:email", 2, user.email, user.id]);
  });

  it("a plain user with an admin list's cursor still gets 403 and no data", async () => {
    const cursor = (await api("GET", "/users?limit=1", as(admin))).body.meta.nextCursor;
    const res = await api("GET", `/users?cursor=${encodeURIComponent(cursor)}`, as(author));
    expectFailure(res, 403, "FORBIDDEN");
  });
});
