import { describe, expect, it } from "vitest";
import { api, randomIp, registerAndLogin } from "../support/api";
import { countRows, createPost } from "../support/content";
import { expectFailure } from "../support/expect-failure";
import { expectRateLimitedAfter, LIFTED_RATE_LIMITS } from "../support/rate-limit";
import { insertPostWithComment } from "../support/roles";
import { settled } from "../support/settled";

/*
 * One token must not be able to fill D1 (a full D1 fails every write, logins
 * included): post and comment writes are rate-limited per user
 * (RATE_LIMIT_CONTENT, 20 a minute, posts and comments apart, from any IP),
 * and what one account may store is capped (MAX_POSTS_PER_USER,
 * MAX_COMMENTS_PER_USER), enforced inside the INSERT.
 */

const CONTENT_LIMIT = 20;
const BURST = 20;

describe("per-user rate limit on content writes", () => {
  it("POST /posts: 429 with Retry-After after 20 a minute, from any number of IPs", async () => {
    const { accessToken: token } = await registerAndLogin();
    await expectRateLimitedAfter(CONTENT_LIMIT, (i) =>
      api("POST", "/posts", { token, ip: randomIp(), body: { title: `Flood ${i}`, content: "x".repeat(1000) } }),
    );
    // Another user is not affected.
    const other = await registerAndLogin();
    expect((await api("POST", "/posts", { token: other.accessToken, body: { title: "t", content: "c" } })).status).toBe(
      201,
    );
  });

  it.each(["PUT", "PATCH"] as const)("%s /posts/:id counts as a post write", async (method) => {
    const s = await registerAndLogin();
    const { postId } = await insertPostWithComment(s.user.id);
    await expectRateLimitedAfter(CONTENT_LIMIT, (i) =>
      api(method, `/posts/${postId}`, { token: s.accessToken, ip: randomIp(), body: { title: `T${i}`, content: "c" } }),
    );
  });

  it("POST /posts/:id/comments and PATCH /comments/:id share one comment budget, apart from posts", async () => {
    const s = await registerAndLogin();
    const { postId, commentId } = await insertPostWithComment(s.user.id);
    await expectRateLimitedAfter(CONTENT_LIMIT, (i) =>
      i % 2
        ? api("POST", `/posts/${postId}/comments`, { token: s.accessToken, body: { content: `c${i}` } })
        : api("PATCH", `/comments/${commentId}`, { token: s.accessToken, body: { content: `e${i}` } }),
    );
    // Posts have their own budget.
    expect((await api("POST", "/posts", { token: s.accessToken, body: { title: "t", content: "c" } })).status).toBe(
      201,
    );
  });
});

describe("per-user cap on stored content", () => {
  it(`stores exactly MAX_POSTS_PER_USER of ${BURST} parallel creates; the rest are 409 CONTENT_LIMIT_REACHED`, async () => {
    const s = await registerAndLogin();
    const bindings = { ...LIFTED_RATE_LIMITS, MAX_POSTS_PER_USER: "3" };
    const results = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        settled("POST", "/posts", { token: s.accessToken, body: { title: `P${i}`, content: "c" }, bindings }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    for (const refused of results.filter((r) => r.status !== 201)) expectFailure(refused, 409, "CONTENT_LIMIT_REACHED");
    expect(await countRows("posts where author_id = ?", s.user.id)).toBe(3);

    // Deleting one makes room for one.
    const [first] = results.filter((r) => r.status === 201);
    await api("DELETE", `/posts/${first?.body.data.post.id}`, { token: s.accessToken });
    const again = await settled("POST", "/posts", {
      token: s.accessToken,
      body: { title: "t", content: "c" },
      bindings,
    });
    expect(again.status).toBe(201);
    // Another account has its own cap.
    const other = await registerAndLogin();
    expect(
      (await settled("POST", "/posts", { token: other.accessToken, body: { title: "t", content: "c" }, bindings }))
        .status,
    ).toBe(201);
  });

  it(`stores exactly MAX_COMMENTS_PER_USER of ${BURST} parallel comments, and still answers 404 for a missing post`, async () => {
    const author = await registerAndLogin();
    const post = await createPost(author.accessToken);
    const s = await registerAndLogin();
    const bindings = { ...LIFTED_RATE_LIMITS, MAX_COMMENTS_PER_USER: "3" };
    const results = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        settled("POST", `/posts/${post.id}/comments`, { token: s.accessToken, body: { content: `C${i}` }, bindings }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    for (const refused of results.filter((r) => r.status !== 201)) expectFailure(refused, 409, "CONTENT_LIMIT_REACHED");
    expect(await countRows("comments where author_id = ?", s.user.id)).toBe(3);

    const missing = await settled("POST", `/posts/${crypto.randomUUID()}/comments`, {
      token: s.accessToken,
      body: { content: "c" },
      bindings,
    });
    expectFailure(missing, 404, "NOT_FOUND");
  });
});
