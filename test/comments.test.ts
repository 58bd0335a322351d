import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerAndLogin, type Session, setRole } from "./support/api";
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
import { deleteUserRow } from "./support/db";
import { detailPaths, expectFailure, expectUnauthorized } from "./support/expect-failure";

const commentRow = (id: string) =>
  env.DB.prepare("select * from comments where id = ?")
    .bind(id)
    .first<{ post_id: string; author_id: string; content: string; created_at: string; updated_at: string }>();

const ids = (items: { id: string }[]) => items.map((item) => item.id);

/** A post by one user and a comment on it by another. */
async function commentedPost() {
  const postAuthor = await registerAndLogin();
  const commenter = await registerAndLogin();
  const post = await createPost(postAuthor.accessToken);
  const comment = await createComment(commenter.accessToken, post.id);
  return { postAuthor, commenter, post, comment };
}

describe("POST /posts/:id/comments", () => {
  it("adds a comment by the caller to anyone's post, in the contract's Comment shape", async () => {
    const author = await registerAndLogin();
    const commenter = await registerAndLogin();
    const post = await createPost(author.accessToken);

    const res = await api("POST", `/posts/${post.id}/comments`, {
      token: commenter.accessToken,
      body: { content: "Nice post" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "success", statusCode: 201, message: "Comment created" });
    const comment = res.body.data.comment;
    expect(comment).toEqual({
      id: expect.stringMatching(UUID),
      postId: post.id,
      authorId: commenter.user.id,
      author: { id: commenter.user.id, username: commenter.user.username },
      content: "Nice post",
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
      updatedAt: comment.createdAt,
      editedBy: null,
      editedAt: null,
    });
    expect(await commentRow(comment.id)).toMatchObject({ post_id: post.id, author_id: commenter.user.id });
    const read = await api("GET", `/posts/${post.id}`, { token: author.accessToken });
    expect(read.body.data.post.commentCount).toBe(1);
  });

  it("answers 404 for a post that does not exist or was deleted, and stores nothing", async () => {
    const s = await registerAndLogin();
    const missing = crypto.randomUUID();
    const res = await api("POST", `/posts/${missing}/comments`, { token: s.accessToken, body: { content: "Hello?" } });
    expectFailure(res, 404, "NOT_FOUND");
    expect(res.body.message).toBe("Post not found");
    expect(await countRows("comments where post_id = ?", missing)).toBe(0);

    const post = await createPost(s.accessToken);
    await api("DELETE", `/posts/${post.id}`, { token: s.accessToken });
    const late = await api("POST", `/posts/${post.id}/comments`, { token: s.accessToken, body: { content: "Late" } });
    expectFailure(late, 404, "NOT_FOUND");
    expect(await countRows("comments where post_id = ?", post.id)).toBe(0);
  });

  it("answers 400 for a malformed post id and 401 without a token", async () => {
    const s = await registerAndLogin();
    const malformed = await api("POST", "/posts/nope/comments", { token: s.accessToken, body: { content: "c" } });
    expectFailure(malformed, 400, "VALIDATION_ERROR");
    expect(detailPaths(malformed)).toEqual(["id"]);
    expectUnauthorized(await api("POST", `/posts/${crypto.randomUUID()}/comments`, { body: { content: "c" } }));
  });

  it("rejects missing, blank, non-string and unknown fields, so a comment cannot be moved or reassigned", async () => {
    const s = await registerAndLogin();
    const other = await registerAndLogin();
    const post = await createPost(s.accessToken);
    for (const body of [
      {},
      { content: "" },
      { content: "  \n " },
      { content: 42 },
      { content: "c", authorId: other.user.id },
      { content: "c", postId: crypto.randomUUID() },
      { content: "c", id: crypto.randomUUID() },
    ]) {
      const res = await api("POST", `/posts/${post.id}/comments`, { token: s.accessToken, body });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(res.body.error.details.length).toBeGreaterThan(0);
    }
    expect(await countRows("comments where post_id = ?", post.id)).toBe(0);
  });

  it("accepts exactly 5,000 characters (code points) and rejects 5,001", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    for (const content of ["x".repeat(5_000), "😀".repeat(5_000)]) {
      const comment = await createComment(s.accessToken, post.id, content);
      expect(comment.content).toBe(content);
    }
    for (const content of ["x".repeat(5_001), "😀".repeat(5_001)]) {
      const res = await api("POST", `/posts/${post.id}/comments`, { token: s.accessToken, body: { content } });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res)).toEqual(["content"]);
    }
  });

  it("stores unicode text and SQL metacharacters verbatim", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    for (const content of [UNICODE_TEXT, ...SQL_METACHARACTERS]) {
      const comment = await createComment(s.accessToken, post.id, content);
      expect(comment.content).toBe(content);
      expect((await commentRow(comment.id))?.content).toBe(content);
    }
    const list = await api("GET", `/posts/${post.id}/comments`, { token: s.accessToken });
    expect(list.body.data.map((c: { content: string }) => c.content).sort()).toEqual(
      [UNICODE_TEXT, ...SQL_METACHARACTERS].sort(),
    );
    expect(await countRows("posts where id = ?", post.id)).toBe(1);
  });
});

describe("GET /posts/:id/comments", () => {
  it("lists only that post's comments, oldest first, equal times ordered by id", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    const otherPost = await createPost(s.accessToken);
    const [a, b, c, d] = [
      await createComment(s.accessToken, post.id, "a"),
      await createComment(s.accessToken, post.id, "b"),
      await createComment(s.accessToken, post.id, "c"),
      await createComment(s.accessToken, post.id, "d"),
    ];
    await createComment(s.accessToken, otherPost.id, "elsewhere");
    await setTimestamps("comments", a.id, "2003-01-01T00:00:00.000Z");
    await setTimestamps("comments", b.id, "2001-01-01T00:00:00.000Z");
    await setTimestamps("comments", c.id, "2002-01-01T00:00:00.000Z");
    await setTimestamps("comments", d.id, "2001-01-01T00:00:00.000Z");

    const res = await api("GET", `/posts/${post.id}/comments`, { token: s.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200 });
    expect(ids(res.body.data)).toEqual([...[b.id, d.id].sort(), c.id, a.id]);
    expect(res.body.data[2]).toEqual({
      ...c,
      createdAt: "2002-01-01T00:00:00.000Z",
      updatedAt: "2002-01-01T00:00:00.000Z",
    });
    expect(res.body.meta).toEqual({ page: 1, limit: 20, total: 4, totalPages: 1, nextCursor: null });
  });

  it("pages without gaps or repeats; past the end is an empty page with the real meta", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    const created = [];
    for (let i = 0; i < 5; i++) {
      const comment = await createComment(s.accessToken, post.id, `#${i}`);
      await setTimestamps("comments", comment.id, `2001-01-01T00:0${i}:00.000Z`);
      created.push(comment.id);
    }
    const seen: string[] = [];
    for (const page of [1, 2, 3]) {
      const res = await api("GET", `/posts/${post.id}/comments?limit=2&page=${page}`, { token: s.accessToken });
      expect(res.body.meta).toEqual({
        page,
        limit: 2,
        total: 5,
        totalPages: 3,
        nextCursor: page < 3 ? expect.any(String) : null,
      });
      seen.push(...ids(res.body.data));
    }
    expect(seen).toEqual(created);
    const past = await api("GET", `/posts/${post.id}/comments?limit=2&page=9`, { token: s.accessToken });
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    expect(past.body.meta).toEqual({ page: 9, limit: 2, total: 5, totalPages: 3, nextCursor: null });
  });

  it("gives an empty list for a post without comments", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    const res = await api("GET", `/posts/${post.id}/comments`, { token: s.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
    expect(res.body.meta).toEqual({ page: 1, limit: 20, total: 0, totalPages: 0, nextCursor: null });
  });

  it("answers 404 for a missing post, 400 for a malformed id or page, 401 without a token", async () => {
    const { accessToken: token } = await registerAndLogin();
    const missing = await api("GET", `/posts/${crypto.randomUUID()}/comments`, { token });
    expectFailure(missing, 404, "NOT_FOUND");
    expectFailure(await api("GET", "/posts/123/comments", { token }), 400, "VALIDATION_ERROR");
    const post = await createPost(token);
    for (const query of ["page=0", "limit=101", "limit=x", "q=abc"]) {
      expectFailure(await api("GET", `/posts/${post.id}/comments?${query}`, { token }), 400, "VALIDATION_ERROR");
    }
    expectUnauthorized(await api("GET", `/posts/${post.id}/comments`));
  });
});

describe("PATCH /comments/:id", () => {
  it("lets the author change the content, moving updatedAt but not createdAt", async () => {
    const { commenter, comment } = await commentedPost();
    await setTimestamps("comments", comment.id, "2001-01-01T00:00:00.000Z");
    const res = await api("PATCH", `/comments/${comment.id}`, {
      token: commenter.accessToken,
      body: { content: "Edited" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "success", message: "Comment updated" });
    const updated = res.body.data.comment;
    expect(updated).toEqual({
      ...comment,
      content: "Edited",
      createdAt: "2001-01-01T00:00:00.000Z",
      updatedAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    expect(updated.updatedAt > "2001-01-01T00:00:00.000Z").toBe(true);
    expect(await commentRow(comment.id)).toMatchObject({ content: "Edited", updated_at: updated.updatedAt });
  });

  it("refuses anyone else with 403, even the author of the post", async () => {
    const { postAuthor, comment } = await commentedPost();
    const stranger = await registerAndLogin();
    for (const s of [postAuthor, stranger]) {
      const res = await api("PATCH", `/comments/${comment.id}`, {
        token: s.accessToken,
        body: { content: "Mine now" },
      });
      expectFailure(res, 403, "FORBIDDEN");
    }
    expect(await commentRow(comment.id)).toMatchObject({ content: comment.content, updated_at: comment.updatedAt });
  });

  it("rejects a missing, over-long or extra field, such as a postId to move the comment", async () => {
    const { commenter, comment } = await commentedPost();
    const elsewhere = await createPost(commenter.accessToken);
    for (const body of [{}, { content: "x".repeat(5_001) }, { content: "c", postId: elsewhere.id }]) {
      const res = await api("PATCH", `/comments/${comment.id}`, { token: commenter.accessToken, body });
      expectFailure(res, 400, "VALIDATION_ERROR");
    }
    expect(await commentRow(comment.id)).toMatchObject({ post_id: comment.postId, content: comment.content });
  });

  it("answers 404 for an unknown comment, 400 for a malformed id and 401 without a token", async () => {
    const { accessToken: token } = await registerAndLogin();
    const body = { content: "c" };
    expectFailure(await api("PATCH", `/comments/${crypto.randomUUID()}`, { token, body }), 404, "NOT_FOUND");
    expectFailure(await api("PATCH", "/comments/abc", { token, body }), 400, "VALIDATION_ERROR");
    expectUnauthorized(await api("PATCH", `/comments/${crypto.randomUUID()}`, { body }));
  });
});

describe("DELETE /comments/:id", () => {
  it("lets the author delete the comment, which leaves the list and the post's count", async () => {
    const { postAuthor, commenter, post, comment } = await commentedPost();
    const res = await api("DELETE", `/comments/${comment.id}`, { token: commenter.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "success", statusCode: 200, message: "Comment deleted", data: {} });
    expect(await commentRow(comment.id)).toBeNull();
    const list = await api("GET", `/posts/${post.id}/comments`, { token: postAuthor.accessToken });
    expect(list.body.data).toEqual([]);
    const read = await api("GET", `/posts/${post.id}`, { token: postAuthor.accessToken });
    expect(read.body.data.post.commentCount).toBe(0);
    expectFailure(await api("DELETE", `/comments/${comment.id}`, { token: commenter.accessToken }), 404, "NOT_FOUND");
  });

  it("refuses anyone else with 403, even the author of the post", async () => {
    const { postAuthor, comment } = await commentedPost();
    const stranger = await registerAndLogin();
    for (const s of [postAuthor, stranger]) {
      expectFailure(await api("DELETE", `/comments/${comment.id}`, { token: s.accessToken }), 403, "FORBIDDEN");
    }
    expect(await commentRow(comment.id)).not.toBeNull();
  });

  it("answers 404 for an unknown comment, 400 for a malformed id and 401 without a token", async () => {
    const { accessToken: token } = await registerAndLogin();
    expectFailure(await api("DELETE", `/comments/${crypto.randomUUID()}`, { token }), 404, "NOT_FOUND");
    expectFailure(await api("DELETE", "/comments/1;DROP", { token }), 400, "VALIDATION_ERROR");
    expectUnauthorized(await api("DELETE", `/comments/${crypto.randomUUID()}`));
  });
});

describe.each(["moderator", "admin"] as const)("a %s", (role) => {
  async function staffAndComment(): Promise<[Session, { id: string; authorId: string }]> {
    const staff = await registerAndLogin();
    await setRole(staff.user.id, role);
    return [staff, (await commentedPost()).comment];
  }

  it("may edit anyone's comment, which stays the author's", async () => {
    const [staff, comment] = await staffAndComment();
    const res = await api("PATCH", `/comments/${comment.id}`, {
      token: staff.accessToken,
      body: { content: "[removed]" },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.comment).toMatchObject({ content: "[removed]", authorId: comment.authorId });
  });

  it("may delete anyone's comment", async () => {
    const [staff, comment] = await staffAndComment();
    expect((await api("DELETE", `/comments/${comment.id}`, { token: staff.accessToken })).status).toBe(200);
    expect(await commentRow(comment.id)).toBeNull();
  });
});

describe("relations", () => {
  it("deleting a user removes their posts, the comments on those posts and their comments elsewhere", async () => {
    const leaving = await registerAndLogin();
    const staying = await registerAndLogin();
    const theirPost = await createPost(leaving.accessToken);
    const otherPost = await createPost(staying.accessToken);
    await createComment(staying.accessToken, theirPost.id);
    const theirComment = await createComment(leaving.accessToken, otherPost.id);
    const keptComment = await createComment(staying.accessToken, otherPost.id);

    await deleteUserRow(leaving.user.id);
    expect(await countRows("posts where author_id = ?", leaving.user.id)).toBe(0);
    expect(await countRows("comments where post_id = ?", theirPost.id)).toBe(0);
    expect(await commentRow(theirComment.id)).toBeNull();
    expect(await commentRow(keptComment.id)).not.toBeNull();
    const read = await api("GET", `/posts/${otherPost.id}`, { token: staying.accessToken });
    expect(read.body.data.post.commentCount).toBe(1);
  });
});

describe("D1 query budget (Server-Timing)", () => {
  it("lists comments in one batch after authentication, whatever the page or size", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    for (let i = 0; i < 5; i++) await createComment(s.accessToken, post.id, `#${i}`);
    for (const query of ["limit=1", "limit=5", "limit=100", "limit=2&page=2", "page=40"]) {
      const res = await api("GET", `/posts/${post.id}/comments?${query}`, { token: s.accessToken });
      expect(res.status).toBe(200);
      // One batch: the session check, the page, and the post's existence with its total.
      expect(d1Usage(res), query).toEqual({ queries: 1, statements: 3 });
    }
  });

  it("writes a comment together with its read-back in one batch", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    const created = await api("POST", `/posts/${post.id}/comments`, { token: s.accessToken, body: { content: "c" } });
    // One round trip: the session check rides with the insert, which carries it as a condition.
    expect(d1Usage(created)).toEqual({ queries: 1, statements: 3 });
    const id = created.body.data.comment.id;
    const patched = await api("PATCH", `/comments/${id}`, { token: s.accessToken, body: { content: "d" } });
    // The check, the (moderation) audit row, the write and its read-back: one round trip, all conditional.
    expect(d1Usage(patched)).toEqual({ queries: 1, statements: 4 });
    expect(d1Usage(await api("DELETE", `/comments/${id}`, { token: s.accessToken }))).toEqual({
      queries: 1,
      statements: 4,
    });
  });
});
