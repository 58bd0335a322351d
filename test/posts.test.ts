import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerAndLogin, type Session, setRole, unique } from "./support/api";
import {
  countRows,
  createComment,
  createPost,
  ISO_TIMESTAMP,
  SQL_METACHARACTERS,
  setTimestamps,
  UNICODE_TEXT,
  UUID,
} from "./support/content";
import { d1Usage } from "./support/d1-usage";
import { detailPaths, expectFailure, expectUnauthorized } from "./support/expect-failure";

const postRow = (id: string) =>
  env.DB.prepare("select * from posts where id = ?")
    .bind(id)
    .first<{ author_id: string; title: string; content: string; created_at: string; updated_at: string }>();

const listPosts = (token: string, query: string) => api("GET", `/posts?${query}`, { token });

const ids = (items: { id: string }[]) => items.map((item) => item.id);

/** An author with `n` posts whose creation times are pinned one minute apart, oldest first. */
async function authorWithPosts(n: number, titlePrefix = unique("T")) {
  const author = await registerAndLogin();
  const posts = [];
  for (let i = 0; i < n; i++) {
    const post = await createPost(author.accessToken, { title: `${titlePrefix} ${i}` });
    await setTimestamps("posts", post.id, `2001-01-01T00:0${i}:00.000Z`);
    posts.push(post);
  }
  return { author, posts, newestFirst: ids(posts).reverse() };
}

describe("POST /posts", () => {
  it("creates a post owned by the caller, in the contract's Post shape", async () => {
    const s = await registerAndLogin();
    const res = await api("POST", "/posts", { token: s.accessToken, body: { title: "Hello", content: "World" } });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "success", statusCode: 201, message: "Post created" });
    const post = res.body.data.post;
    expect(post).toEqual({
      id: expect.stringMatching(UUID),
      authorId: s.user.id,
      author: { id: s.user.id, username: s.user.username },
      title: "Hello",
      content: "World",
      commentCount: 0,
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
      updatedAt: post.createdAt,
      editedBy: null,
      editedAt: null,
    });
    expect(await postRow(post.id)).toMatchObject({ author_id: s.user.id, title: "Hello", content: "World" });
  });

  it("answers 401 with a Bearer challenge without a valid access token", async () => {
    expectUnauthorized(await api("POST", "/posts", { body: { title: "t", content: "c" } }));
    expectUnauthorized(await api("POST", "/posts", { token: "not.a.jwt", body: { title: "t", content: "c" } }));
  });

  it("rejects missing, empty, blank and non-string fields, naming each", async () => {
    const { accessToken: token } = await registerAndLogin();
    const cases: [unknown, string[]][] = [
      [{}, ["content", "title"]],
      [{ title: "", content: "c" }, ["title"]],
      [{ title: " \t\n ", content: "c" }, ["title"]],
      [{ title: "t", content: "   " }, ["content"]],
      [{ title: 5, content: null }, ["content", "title"]],
      [{ title: ["t"], content: { text: "c" } }, ["content", "title"]],
    ];
    for (const [body, paths] of cases) {
      const res = await api("POST", "/posts", { token, body });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect([...new Set(detailPaths(res))].sort()).toEqual(paths);
    }
  });

  it("rejects unknown fields, so an author, id or count cannot be smuggled in", async () => {
    const s = await registerAndLogin();
    const victim = await registerAndLogin();
    const title = unique("Smuggled ");
    for (const extra of [
      { authorId: victim.user.id },
      { id: crypto.randomUUID() },
      { commentCount: 99 },
      { createdAt: "2000-01-01T00:00:00.000Z" },
    ]) {
      const res = await api("POST", "/posts", { token: s.accessToken, body: { title, content: "c", ...extra } });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(res.body.error.details[0].message).toContain(Object.keys(extra)[0]);
    }
    expect(await countRows("posts where title = ?", title)).toBe(0);
  });

  it("accepts exactly 200 title and 20,000 content characters and rejects one more", async () => {
    const { accessToken: token } = await registerAndLogin();
    const atLimit = await api("POST", "/posts", {
      token,
      body: { title: "t".repeat(200), content: "c".repeat(20_000) },
    });
    expect(atLimit.status).toBe(201);
    expect(atLimit.body.data.post.title).toBe("t".repeat(200));
    expect(atLimit.body.data.post.content).toBe("c".repeat(20_000));

    const longTitle = await api("POST", "/posts", { token, body: { title: "t".repeat(201), content: "c" } });
    expectFailure(longTitle, 400, "VALIDATION_ERROR");
    expect(detailPaths(longTitle)).toEqual(["title"]);
    const longContent = await api("POST", "/posts", { token, body: { title: "t", content: "c".repeat(20_001) } });
    expectFailure(longContent, 400, "VALIDATION_ERROR");
    expect(detailPaths(longContent)).toEqual(["content"]);
  });

  it("counts characters as code points, so an emoji is one character, not two UTF-16 units", async () => {
    const { accessToken: token } = await registerAndLogin();
    const emojiContent = `${"😀".repeat(10_000)}${"a".repeat(10_000)}`; // 30,000 UTF-16 units
    const fits = await api("POST", "/posts", { token, body: { title: "😀".repeat(200), content: emojiContent } });
    expect(fits.status).toBe(201);
    expect(fits.body.data.post.title).toBe("😀".repeat(200));
    expect(fits.body.data.post.content).toBe(emojiContent);

    const tooLong = await api("POST", "/posts", {
      token,
      body: { title: "😀".repeat(201), content: `${emojiContent}a` },
    });
    expectFailure(tooLong, 400, "VALIDATION_ERROR");
    expect(detailPaths(tooLong).sort()).toEqual(["content", "title"]);
  });

  it("rejects text that is not well-formed Unicode, which could not be stored verbatim", async () => {
    const { accessToken: token } = await registerAndLogin();
    const res = await api("POST", "/posts", {
      token,
      rawBody: '{"title":"lone \\ud800 surrogate","content":"c"}',
      headers: { "Content-Type": "application/json" },
    });
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(detailPaths(res)).toEqual(["title"]);
  });
});

describe("verbatim storage", () => {
  it("stores and returns unicode text exactly: emoji, RTL, combining marks, NUL", async () => {
    const { accessToken: token } = await registerAndLogin();
    const title = `${UNICODE_TEXT.slice(0, 60)} ${unique()}`;
    const post = await createPost(token, { title, content: UNICODE_TEXT });
    expect(post).toMatchObject({ title, content: UNICODE_TEXT });

    const read = await api("GET", `/posts/${post.id}`, { token });
    expect(read.body.data.post).toMatchObject({ title, content: UNICODE_TEXT });
    expect(await postRow(post.id)).toMatchObject({ title, content: UNICODE_TEXT });
  });

  it("stores SQL metacharacters as plain text and the tables survive", async () => {
    const { accessToken: token } = await registerAndLogin();
    for (const text of SQL_METACHARACTERS) {
      const post = await createPost(token, { title: text, content: text });
      expect(post).toMatchObject({ title: text, content: text });
      const read = await api("GET", `/posts/${post.id}`, { token });
      expect(read.body.data.post).toMatchObject({ title: text, content: text });
      expect(await postRow(post.id)).toMatchObject({ title: text, content: text });
    }
    expect(await countRows("posts")).toBeGreaterThan(0);
    expect(await countRows("comments")).toBeGreaterThanOrEqual(0);
  });
});

describe("GET /posts/:id", () => {
  it("returns the post with its author summary and comment count", async () => {
    const author = await registerAndLogin();
    const reader = await registerAndLogin();
    const post = await createPost(author.accessToken);
    await createComment(reader.accessToken, post.id);
    await createComment(author.accessToken, post.id);

    const res = await api("GET", `/posts/${post.id}`, { token: reader.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200 });
    expect(res.body.data.post).toEqual({ ...post, commentCount: 2 });
  });

  it("answers 404 for an unknown id, 400 for a malformed one and 401 without a token", async () => {
    const { accessToken: token } = await registerAndLogin();
    expectFailure(await api("GET", `/posts/${crypto.randomUUID()}`, { token }), 404, "NOT_FOUND");
    const malformed = await api("GET", "/posts/1%20OR%201=1", { token });
    expectFailure(malformed, 400, "VALIDATION_ERROR");
    expect(detailPaths(malformed)).toEqual(["id"]);
    expectUnauthorized(await api("GET", `/posts/${crypto.randomUUID()}`));
  });
});

describe("GET /posts", () => {
  it("lists newest first, equal times ordered by id, each item in the Post shape", async () => {
    const author = await registerAndLogin();
    const [a, b, c, d] = [
      await createPost(author.accessToken),
      await createPost(author.accessToken),
      await createPost(author.accessToken),
      await createPost(author.accessToken),
    ];
    await setTimestamps("posts", a.id, "2001-01-01T00:00:00.000Z");
    await setTimestamps("posts", b.id, "2003-01-01T00:00:00.000Z");
    await setTimestamps("posts", c.id, "2002-01-01T00:00:00.000Z");
    await setTimestamps("posts", d.id, "2003-01-01T00:00:00.000Z");
    await createComment(author.accessToken, c.id);

    const res = await listPosts(author.accessToken, `authorId=${author.user.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200 });
    const sameTime = [b.id, d.id].sort().reverse();
    expect(ids(res.body.data)).toEqual([...sameTime, c.id, a.id]);
    expect(res.body.data[2]).toEqual({
      ...c,
      commentCount: 1,
      createdAt: "2002-01-01T00:00:00.000Z",
      updatedAt: "2002-01-01T00:00:00.000Z",
    });
    expect(res.body.meta).toEqual({ page: 1, limit: 20, total: 4, totalPages: 1, nextCursor: null });
  });

  it("filters by authorId and counts only that author's posts", async () => {
    const one = await authorWithPosts(3);
    const other = await authorWithPosts(2);
    const res = await listPosts(one.author.accessToken, `authorId=${one.author.user.id}`);
    expect(ids(res.body.data)).toEqual(one.newestFirst);
    expect(res.body.data.every((p: { authorId: string }) => p.authorId === one.author.user.id)).toBe(true);
    expect(res.body.meta.total).toBe(3);

    const theirs = await listPosts(one.author.accessToken, `authorId=${other.author.user.id}`);
    expect(ids(theirs.body.data)).toEqual(other.newestFirst);
  });

  it("gives an empty list for an author with no posts and 400 for an authorId that is not an id", async () => {
    const { accessToken: token } = await registerAndLogin();
    const none = await listPosts(token, `authorId=${crypto.randomUUID()}`);
    expect(none.status).toBe(200);
    expect(none.body.data).toEqual([]);
    expect(none.body.meta).toEqual({ page: 1, limit: 20, total: 0, totalPages: 0, nextCursor: null });

    for (const bad of ["abc", "' OR 1=1 --", ""]) {
      const res = await listPosts(token, `authorId=${encodeURIComponent(bad)}`);
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res)).toEqual(["authorId"]);
    }
  });

  it("pages through posts without gaps or repeats, and past the end gives an empty page with the real meta", async () => {
    const { author, newestFirst } = await authorWithPosts(5);
    const token = author.accessToken;
    const seen: string[] = [];
    for (const page of [1, 2, 3]) {
      const res = await listPosts(token, `authorId=${author.user.id}&limit=2&page=${page}`);
      expect(res.body.meta).toEqual({
        page,
        limit: 2,
        total: 5,
        totalPages: 3,
        nextCursor: page < 3 ? expect.any(String) : null,
      });
      seen.push(...ids(res.body.data));
    }
    expect(seen).toEqual(newestFirst);

    for (const page of [4, 1_000_000]) {
      const past = await listPosts(token, `authorId=${author.user.id}&limit=2&page=${page}`);
      expect(past.status).toBe(200);
      expect(past.body.data).toEqual([]);
      expect(past.body.meta).toEqual({ page, limit: 2, total: 5, totalPages: 3, nextCursor: null });
    }
  });

  it("defaults to page 1 of 20 and caps a page at 100", async () => {
    const { accessToken: token } = await registerAndLogin();
    const res = await listPosts(token, "");
    expect(res.status).toBe(200);
    expect(res.body.meta).toMatchObject({ page: 1, limit: 20 });
    expect(res.body.data.length).toBeLessThanOrEqual(20);
    const max = await listPosts(token, "limit=100");
    expect(max.status).toBe(200);
    expect(max.body.meta.limit).toBe(100);
  });

  it("rejects page and limit outside their ranges, and unknown parameters", async () => {
    const { accessToken: token } = await registerAndLogin();
    const cases: [string, string][] = [
      ["page=0", "page"],
      ["page=-1", "page"],
      ["page=abc", "page"],
      ["page=1.5", "page"],
      ["page=", "page"],
      ["page=1&page=2", "page"],
      ["limit=0", "limit"],
      ["limit=101", "limit"],
      ["limit=1e2", "limit"],
    ];
    for (const [query, path] of cases) {
      const res = await listPosts(token, query);
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res), query).toEqual([path]);
    }
    // A misspelt filter must not silently list everything.
    const unknown = await listPosts(token, `autorId=${crypto.randomUUID()}`);
    expectFailure(unknown, 400, "VALIDATION_ERROR");
    expect(unknown.body.error.details[0].message).toContain("autorId");
  });

  it("searches titles by case-insensitive prefix, optionally within one author", async () => {
    const tag = unique("q");
    const alice = await registerAndLogin();
    const bob = await registerAndLogin();
    const apple = await createPost(alice.accessToken, { title: `${tag} Apple pie` });
    const apricot = await createPost(bob.accessToken, { title: `${tag.toUpperCase()} APRICOT jam` });
    await createPost(alice.accessToken, { title: `${tag} banana` });
    await createPost(alice.accessToken, { title: `not ${tag} Apple` });

    const res = await listPosts(alice.accessToken, `q=${encodeURIComponent(`${tag.toUpperCase()} ap`)}`);
    expect(ids(res.body.data).sort()).toEqual([apple.id, apricot.id].sort());
    expect(res.body.meta.total).toBe(2);

    const mine = await listPosts(alice.accessToken, `q=${encodeURIComponent(`${tag} ap`)}&authorId=${alice.user.id}`);
    expect(ids(mine.body.data)).toEqual([apple.id]);

    const everything = await listPosts(alice.accessToken, `q=&authorId=${alice.user.id}`);
    expect(everything.body.meta.total).toBe(3);
  });

  it("takes %, _ and backslashes in q literally, not as LIKE wildcards", async () => {
    const tag = unique("w");
    const { accessToken: token } = await registerAndLogin();
    const percent = await createPost(token, { title: `${tag} 100% pure` });
    await createPost(token, { title: `${tag} 100 pure` });
    const underscore = await createPost(token, { title: `${tag} a_b` });
    await createPost(token, { title: `${tag} axb` });
    const backslash = await createPost(token, { title: `${tag} c\\d` });
    await createPost(token, { title: `${tag} cd` });

    const search = async (q: string) => ids((await listPosts(token, `q=${encodeURIComponent(q)}`)).body.data);
    expect(await search(`${tag} 100%`)).toEqual([percent.id]);
    expect(await search(`${tag} a_`)).toEqual([underscore.id]);
    expect(await search(`${tag} c\\`)).toEqual([backslash.id]);
    expect(await search(`${tag} %`)).toEqual([]);

    for (const wildcard of ["%", "_"]) {
      const res = await listPosts(token, `q=${encodeURIComponent(wildcard)}&limit=100`);
      for (const post of res.body.data) expect(post.title.startsWith(wildcard)).toBe(true);
    }
  });

  it("takes SQL metacharacters in q literally", async () => {
    const tag = unique("s");
    const { accessToken: token } = await registerAndLogin();
    for (const text of SQL_METACHARACTERS) {
      const post = await createPost(token, { title: `${tag}${text}` });
      const res = await listPosts(token, `q=${encodeURIComponent(`${tag}${text}`)}`);
      expect(res.status).toBe(200);
      expect(ids(res.body.data)).toEqual([post.id]);
    }
    const injection = await listPosts(token, `q=${encodeURIComponent(`${tag}' OR 1=1 --`)}`);
    expect(injection.body.data).toEqual([]);
  });

  it("answers 401 without a token", async () => {
    expectUnauthorized(await api("GET", "/posts"));
  });
});

describe("PUT /posts/:id", () => {
  it("lets the author replace title and content, moving updatedAt but not createdAt", async () => {
    const author = await registerAndLogin();
    const post = await createPost(author.accessToken);
    await createComment(author.accessToken, post.id);
    await setTimestamps("posts", post.id, "2001-01-01T00:00:00.000Z");

    const res = await api("PUT", `/posts/${post.id}`, {
      token: author.accessToken,
      body: { title: "New title", content: "New content" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", message: "Post updated" });
    const updated = res.body.data.post;
    expect(updated).toEqual({
      ...post,
      title: "New title",
      content: "New content",
      commentCount: 1,
      createdAt: "2001-01-01T00:00:00.000Z",
      updatedAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    expect(updated.updatedAt > "2001-01-01T00:00:00.000Z").toBe(true);
    expect(await postRow(post.id)).toMatchObject({ title: "New title", updated_at: updated.updatedAt });
  });

  it("requires both fields and rejects unknown ones such as authorId", async () => {
    const author = await registerAndLogin();
    const other = await registerAndLogin();
    const post = await createPost(author.accessToken);
    const partial = await api("PUT", `/posts/${post.id}`, { token: author.accessToken, body: { title: "Only" } });
    expectFailure(partial, 400, "VALIDATION_ERROR");
    expect(detailPaths(partial)).toEqual(["content"]);

    const smuggle = await api("PUT", `/posts/${post.id}`, {
      token: author.accessToken,
      body: { title: "t", content: "c", authorId: other.user.id },
    });
    expectFailure(smuggle, 400, "VALIDATION_ERROR");
    expect(await postRow(post.id)).toMatchObject({ author_id: author.user.id, title: post.title });
  });

  it("refuses another user with 403 and leaves the post unchanged", async () => {
    const author = await registerAndLogin();
    const intruder = await registerAndLogin();
    const post = await createPost(author.accessToken);
    const res = await api("PUT", `/posts/${post.id}`, {
      token: intruder.accessToken,
      body: { title: "Hijacked", content: "Hijacked" },
    });
    expectFailure(res, 403, "FORBIDDEN");
    expect(await postRow(post.id)).toMatchObject({
      title: post.title,
      content: post.content,
      updated_at: post.updatedAt,
    });
  });

  it("answers 404 for an unknown post, 400 for a malformed id and 401 without a token", async () => {
    const { accessToken: token } = await registerAndLogin();
    const body = { title: "t", content: "c" };
    expectFailure(await api("PUT", `/posts/${crypto.randomUUID()}`, { token, body }), 404, "NOT_FOUND");
    expectFailure(await api("PUT", "/posts/42", { token, body }), 400, "VALIDATION_ERROR");
    expectUnauthorized(await api("PUT", `/posts/${crypto.randomUUID()}`, { body }));
  });
});

describe("PATCH /posts/:id", () => {
  it("changes only the fields sent", async () => {
    const author = await registerAndLogin();
    const post = await createPost(author.accessToken, { title: "Before", content: "Body before" });
    const titled = await api("PATCH", `/posts/${post.id}`, { token: author.accessToken, body: { title: "After" } });
    expect(titled.status).toBe(200);
    expect(titled.body.data.post).toMatchObject({ title: "After", content: "Body before" });

    const bodied = await api("PATCH", `/posts/${post.id}`, {
      token: author.accessToken,
      body: { content: "Body after" },
    });
    expect(bodied.body.data.post).toMatchObject({ title: "After", content: "Body after", authorId: author.user.id });
  });

  it("rejects an empty body, nulls, over-long values and unknown fields", async () => {
    const author = await registerAndLogin();
    const post = await createPost(author.accessToken);
    for (const body of [
      {},
      { title: null },
      { title: "t".repeat(201) },
      { commentCount: 5 },
      { id: crypto.randomUUID() },
    ]) {
      const res = await api("PATCH", `/posts/${post.id}`, { token: author.accessToken, body });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(res.body.error.details.length).toBeGreaterThan(0);
    }
    expect(await postRow(post.id)).toMatchObject({ title: post.title, updated_at: post.updatedAt });
  });

  it("refuses another user with 403, answers 404 for an unknown post and 401 without a token", async () => {
    const author = await registerAndLogin();
    const intruder = await registerAndLogin();
    const post = await createPost(author.accessToken);
    const body = { title: "Hijacked" };
    expectFailure(await api("PATCH", `/posts/${post.id}`, { token: intruder.accessToken, body }), 403, "FORBIDDEN");
    expect(await postRow(post.id)).toMatchObject({ title: post.title });
    const unknown = await api("PATCH", `/posts/${crypto.randomUUID()}`, { token: intruder.accessToken, body });
    expectFailure(unknown, 404, "NOT_FOUND");
    expectUnauthorized(await api("PATCH", `/posts/${post.id}`, { body }));
  });
});

describe("DELETE /posts/:id", () => {
  it("lets the author delete the post, and its comments go with it", async () => {
    const author = await registerAndLogin();
    const commenter = await registerAndLogin();
    const post = await createPost(author.accessToken);
    const keep = await createPost(author.accessToken);
    await createComment(author.accessToken, post.id);
    await createComment(commenter.accessToken, post.id);
    await createComment(commenter.accessToken, keep.id);

    const res = await api("DELETE", `/posts/${post.id}`, { token: author.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "success", statusCode: 200, message: "Post deleted", data: {} });
    expectFailure(await api("GET", `/posts/${post.id}`, { token: author.accessToken }), 404, "NOT_FOUND");
    expect(await postRow(post.id)).toBeNull();
    expect(await countRows("comments where post_id = ?", post.id)).toBe(0);
    expect(await countRows("comments where post_id = ?", keep.id)).toBe(1);
  });

  it("refuses another user with 403 and keeps the post and its comments", async () => {
    const author = await registerAndLogin();
    const intruder = await registerAndLogin();
    const post = await createPost(author.accessToken);
    await createComment(intruder.accessToken, post.id);
    expectFailure(await api("DELETE", `/posts/${post.id}`, { token: intruder.accessToken }), 403, "FORBIDDEN");
    expect(await postRow(post.id)).not.toBeNull();
    expect(await countRows("comments where post_id = ?", post.id)).toBe(1);
  });

  it("answers 404 for an unknown or already deleted post, 400 for a malformed id and 401 without a token", async () => {
    const author = await registerAndLogin();
    const post = await createPost(author.accessToken);
    expectUnauthorized(await api("DELETE", `/posts/${post.id}`));
    expect((await api("DELETE", `/posts/${post.id}`, { token: author.accessToken })).status).toBe(200);
    expectFailure(await api("DELETE", `/posts/${post.id}`, { token: author.accessToken }), 404, "NOT_FOUND");
    expectFailure(
      await api("DELETE", `/posts/${crypto.randomUUID()}`, { token: author.accessToken }),
      404,
      "NOT_FOUND",
    );
    expectFailure(await api("DELETE", "/posts/x", { token: author.accessToken }), 400, "VALIDATION_ERROR");
  });
});

describe.each(["moderator", "admin"] as const)("a %s", (role) => {
  async function staffAndPost(): Promise<[Session, Session, { id: string }]> {
    const staff = await registerAndLogin();
    await setRole(staff.user.id, role);
    const author = await registerAndLogin();
    return [staff, author, await createPost(author.accessToken)];
  }

  it("may edit anyone's post, which stays the author's", async () => {
    const [staff, author, post] = await staffAndPost();
    const put = await api("PUT", `/posts/${post.id}`, {
      token: staff.accessToken,
      body: { title: "Mod", content: "Mod" },
    });
    expect(put.status).toBe(200);
    const patch = await api("PATCH", `/posts/${post.id}`, { token: staff.accessToken, body: { title: "Moderated" } });
    expect(patch.status).toBe(200);
    expect(patch.body.data.post).toMatchObject({
      title: "Moderated",
      content: "Mod",
      authorId: author.user.id,
      author: { id: author.user.id, username: author.user.username },
    });
  });

  it("may delete anyone's post", async () => {
    const [staff, , post] = await staffAndPost();
    expect((await api("DELETE", `/posts/${post.id}`, { token: staff.accessToken })).status).toBe(200);
    expect(await postRow(post.id)).toBeNull();
  });

  it("loses that power the moment the role is taken away", async () => {
    const [staff, , post] = await staffAndPost();
    await setRole(staff.user.id, "user");
    const res = await api("PATCH", `/posts/${post.id}`, { token: staff.accessToken, body: { title: "Too late" } });
    expectFailure(res, 403, "FORBIDDEN");
  });
});

describe("D1 query budget (Server-Timing)", () => {
  it("lists posts in one batch after authentication, whatever the page, size or filter", async () => {
    const { author } = await authorWithPosts(5);
    const token = author.accessToken;
    for (const query of [
      "limit=1",
      "limit=100",
      `authorId=${author.user.id}&limit=1`,
      `authorId=${author.user.id}&limit=5`,
      `authorId=${author.user.id}&limit=2&page=3`,
      `authorId=${author.user.id}&page=50`,
      "q=T&limit=100",
    ]) {
      const res = await listPosts(token, query);
      expect(res.status).toBe(200);
      // One batch: the session check, the page and its total.
      expect(d1Usage(res), query).toEqual({ queries: 1, statements: 3 });
    }
  });

  it("reads one post in one query and writes it with its read-back in one batch", async () => {
    const { accessToken: token } = await registerAndLogin();
    const created = await api("POST", "/posts", { token, body: { title: "t", content: "c" } });
    // One round trip: the session check rides with the insert, which carries it as a condition.
    expect(d1Usage(created)).toEqual({ queries: 1, statements: 3 });
    const id = created.body.data.post.id;
    // The session check rides in the read's round trip.
    expect(d1Usage(await api("GET", `/posts/${id}`, { token }))).toEqual({ queries: 1, statements: 2 });
    // Edits and deletes too: the check, the (moderation) audit row, the write and its read-back, all conditional.
    expect(d1Usage(await api("PATCH", `/posts/${id}`, { token, body: { title: "u" } }))).toEqual({
      queries: 1,
      statements: 4,
    });
    expect(d1Usage(await api("DELETE", `/posts/${id}`, { token }))).toEqual({ queries: 1, statements: 4 });
  });
});
