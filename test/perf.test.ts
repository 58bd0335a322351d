import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { auditRoutes } from "../src/audit/routes";
import { authRoutes } from "../src/auth/routes";
import { commentsRoutes } from "../src/comments/routes";
import { createDb } from "../src/db/client";
import { type D1Queryable, meterD1 } from "../src/db/instrument";
import type { AppEnv } from "../src/env";
import { jsonBody, requireConfig } from "../src/http/middleware";
import { onError } from "../src/http/on-error";
import { postsRoutes } from "../src/posts/routes";
import { userRoutes } from "../src/users/routes";
import { api, randomIp, registerAndLogin, registerUser, type Session, setRole, unique } from "./support/api";
import { d1Timing, d1Usage } from "./support/d1-usage";

const BOOKMARK = "X-D1-Bookmark";

describe("D1 query budgets (Server-Timing)", () => {
  it("GET /health makes exactly one D1 query", async () => {
    const res = await api("GET", "/health");
    expect(res.status).toBe(200);
    expect(d1Usage(res)).toMatchObject({ queries: 1, statements: 1 });
  });

  it("an authenticated GET /me makes exactly one D1 query", async () => {
    const { accessToken } = await registerAndLogin();
    const res = await api("GET", "/me", { token: accessToken });
    expect(res.status).toBe(200);
    expect(d1Usage(res)).toMatchObject({ queries: 1, statements: 1 });
  });

  it("reports zero queries when a request never reaches D1", async () => {
    const res = await api("GET", "/me");
    expect(res.status).toBe(401);
    expect(d1Timing(res)).toEqual({ durationMs: 0, queries: 0, statements: 0, rows: undefined });
  });
});

describe("D1 session bookmarks", () => {
  it("returns a bookmark on every response that touched D1", async () => {
    const res = await api("GET", "/health");
    expect(res.headers.get(BOOKMARK)).toMatch(/^[0-9a-f]+(-[0-9a-f]+)+$/);
  });

  it("a write moves the bookmark forward, and a client sending it back reads its own write", async () => {
    const before = (await api("GET", "/health")).headers.get(BOOKMARK) ?? "";
    const user = await registerUser();
    const written = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    const after = written.headers.get(BOOKMARK) ?? "";
    // Bookmarks are fixed-width hex groups, so later ones sort after earlier ones.
    expect(after > before).toBe(true);

    const me = await api("GET", "/me", { token: written.body.data.accessToken, headers: { [BOOKMARK]: after } });
    expect(me.status).toBe(200);
    expect(me.body.data.user.id).toBe(user.id);
    expect((me.headers.get(BOOKMARK) ?? "") >= after).toBe(true);
  });

  it("puts no bookmark on a response a shared cache may keep (/openapi.json), even when one was sent", async () => {
    const bookmark = (await api("GET", "/health")).headers.get(BOOKMARK) ?? "";
    const res = await api("GET", "/openapi.json", { headers: { [BOOKMARK]: bookmark } });
    expect(res.headers.get("Cache-Control")).toMatch(/public/);
    expect(res.headers.has(BOOKMARK)).toBe(false);
  });

  it("hands the client's bookmark back unchanged when the request made no query", async () => {
    const bookmark = (await api("GET", "/health")).headers.get(BOOKMARK) ?? "";
    const res = await api("GET", "/me", { headers: { [BOOKMARK]: bookmark } });
    expect(res.status).toBe(401);
    expect(res.headers.get(BOOKMARK)).toBe(bookmark);
  });

  it.each([
    ["garbage", "not a bookmark"],
    ["SQL", "1'; drop table users; --"],
    ["a session constraint", "first-primary"],
    ["an overlong value", `${"0".repeat(65)}-1`],
  ])("refuses %s as a bookmark with a clean 400, never a 500", async (_, value) => {
    const res = await api("GET", "/health", { headers: { [BOOKMARK]: value } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details).toEqual([{ path: BOOKMARK, message: expect.any(String) }]);
    expect(res.headers.get(BOOKMARK)).toBeNull();
  });
});

describe("list endpoints: one batch of rows and total, whatever the page", () => {
  const variants = ["limit=1", "limit=100", "limit=20&page=3", "limit=20&page=1000000"];

  async function usageAcrossPages(path: string, token: string) {
    const usages = [];
    for (const query of variants) {
      const res = await api("GET", `${path}${path.includes("?") ? "&" : "?"}${query}`, { token });
      expect(res.status, `${path} ${query}`).toBe(200);
      usages.push(d1Usage(res));
    }
    return usages;
  }

  // One round trip: the auth guard's check in the same batch as the page and the total.
  const budget = { queries: 1, statements: 3 };
  // Listing users is decided by role: the rule rides with the guard's check, in the same batch.
  const roleDecided = { queries: 1, statements: 3 };

  it("GET /posts", async () => {
    const { accessToken } = await registerAndLogin();
    expect(await usageAcrossPages("/posts", accessToken)).toEqual(variants.map(() => budget));
    expect(await usageAcrossPages("/posts?q=Post", accessToken)).toEqual(variants.map(() => budget));
  });

  it("GET /posts/:id/comments", async () => {
    const { accessToken } = await registerAndLogin();
    const post = await api("POST", "/posts", { token: accessToken, body: { title: "Budget", content: "Counted" } });
    await api("POST", `/posts/${post.body.data.post.id}/comments`, { token: accessToken, body: { content: "One" } });
    expect(await usageAcrossPages(`/posts/${post.body.data.post.id}/comments`, accessToken)).toEqual(
      variants.map(() => budget),
    );
  });

  it("GET /users (as admin, with and without a search)", async () => {
    const admin = await registerAndLogin();
    await setRole(admin.user.id, "admin");
    expect(await usageAcrossPages("/users", admin.accessToken)).toEqual(variants.map(() => roleDecided));
    expect(await usageAcrossPages("/users?q=user_", admin.accessToken)).toEqual(variants.map(() => roleDecided));
  });
});

/**
 * The hot queries, exactly as the app builds them: the real routes are
 * mounted over a D1 wrapper that records each statement with its
 * parameters (Drizzle binds every statement, even without parameters), and
 * each recorded statement is then run through EXPLAIN QUERY PLAN. So the
 * plans checked are those of today's code, not of SQL copied into a test.
 */
describe("query plans of the hot queries (EXPLAIN QUERY PLAN)", () => {
  type Recorded = { sql: string; params: unknown[] };

  function recordingApp(log: Recorded[]) {
    const recorder: D1Queryable = {
      prepare: (sql) => {
        const statement = env.DB.prepare(sql);
        return {
          bind: (...params: unknown[]) => {
            log.push({ sql, params });
            return statement.bind(...params);
          },
        } as D1PreparedStatement;
      },
      batch: (statements) => env.DB.batch(statements),
    };
    const app = new Hono<AppEnv>()
      .use(requireConfig, jsonBody, async (c, next) => {
        // Metered like the real app, so the guard's deferred check (db/gate.ts) is recorded too.
        const metered = meterD1(recorder);
        c.set("db", createDb(metered.db));
        c.set("sessionGate", {
          arm: (check) => metered.gate.arm(check),
          flush: metered.flush,
          demand: (rule) => metered.gate.demand(rule),
        });
        await next();
      })
      .route("/", authRoutes)
      .route("/", postsRoutes)
      .route("/", commentsRoutes)
      .route("/", userRoutes)
      .route("/", auditRoutes);
    app.onError(onError);
    return app;
  }

  async function statementsOf(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; status?: number } = {},
  ) {
    const log: Recorded[] = [];
    const headers = new Headers({ "CF-Connecting-IP": randomIp() });
    if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
    if (options.body) headers.set("Content-Type", "application/json");
    const body = options.body ? JSON.stringify(options.body) : undefined;
    const res = await recordingApp(log).request(path, { method, headers, body }, env);
    expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBe(options.status ?? 200);
    expect(log.length).toBeGreaterThan(0);
    return log;
  }

  async function plan({ sql, params }: Recorded) {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...params)
      .all<{ detail: string }>();
    return results.map((r) => r.detail);
  }

  /**
   * `SCAN <table>` reads every row, and so does `SCAN … USING [COVERING]
   * INDEX` unless a LIMIT stops it: only the scans named in `walks` (an index
   * walked in the list's order to pick one page) are allowed.
   */
  async function expectIndexedPlans(log: Recorded[], walks: string[] = []) {
    for (const statement of log) {
      const lines = await plan(statement);
      const context = `${statement.sql}\n  ${lines.join("\n  ")}`;
      for (const line of lines.filter((l) => l.startsWith("SCAN ") && l !== "SCAN CONSTANT ROW")) {
        expect(walks, context).toContain(line);
      }
    }
  }

  let user: Session;
  let admin: Session;
  let postId: string;
  beforeAll(async () => {
    user = await registerAndLogin();
    admin = await registerAndLogin();
    await setRole(admin.user.id, "admin");
    const post = await api("POST", "/posts", { token: user.accessToken, body: { title: "Planned", content: "x" } });
    postId = post.body.data.post.id;
  });

  it("auth guard: session and user by primary key", async () => {
    await expectIndexedPlans(await statementsOf("GET", "/me", { token: user.accessToken }));
  });

  it("login: the account by email", async () => {
    const { email, password } = await registerUser();
    // The cost an unknown email mirrors, wrapping around to the first account: one step of the primary key (LIMIT 1).
    const walks = ["SCAN users USING INDEX sqlite_autoindex_users_1"];
    await expectIndexedPlans(await statementsOf("POST", "/login", { body: { email, password } }), walks);
    // An unknown email counts its failures like a real one.
    const unknown = { email: `nobody-${unique()}@example.com`, password };
    await expectIndexedPlans(await statementsOf("POST", "/login", { body: unknown, status: 401 }), walks);
  });

  it("refresh: the session by refresh token hash", async () => {
    const session = await registerAndLogin();
    const log = await statementsOf("POST", "/refresh", { body: { refreshToken: session.refreshToken } });
    await expectIndexedPlans(log);
  });

  it("user search: prefix LIKE (with ESCAPE) on the case-folded username and email indexes", async () => {
    for (const sort of ["-createdAt", "createdAt", "username", "email"]) {
      const log = await statementsOf("GET", `/users?q=${encodeURIComponent("us%_\\")}&sort=${sort}`, {
        token: admin.accessToken,
      });
      await expectIndexedPlans(log);
      const lines = (await Promise.all(log.map(plan))).flat().join("\n");
      expect(lines).toContain("users_username_unique (username>? AND username<?)");
      expect(lines).toContain("users_email_unique (email>? AND email<?)");
    }
  });

  it("post list, newest first: the page from posts_created_at_idx alone, totals from counters", async () => {
    const log = await statementsOf("GET", "/posts?page=3", { token: user.accessToken });
    // Skipped rows cost one index entry each, no table read or join; only the page's rows are then sorted.
    await expectIndexedPlans(log, ["SCAN posts USING COVERING INDEX posts_created_at_idx"]);
    const lines = (await Promise.all(log.map(plan))).flat();
    // The total is one row of table_counts, not a count of every post.
    expect(lines).toContain("SEARCH table_counts USING INDEX sqlite_autoindex_table_counts_1 (table_name=?)");
    // The comment count of each post is its counter column: no comment is read.
    expect(lines.join("\n")).not.toContain("comments");
  });

  it("post list by author, and title prefix search", async () => {
    const byAuthor = await statementsOf("GET", `/posts?authorId=${user.user.id}`, { token: user.accessToken });
    await expectIndexedPlans(byAuthor);
    const search = await statementsOf("GET", "/posts?q=Pla", { token: user.accessToken });
    await expectIndexedPlans(search);
    expect((await Promise.all(search.map(plan))).flat().join("\n")).toContain("posts_title_idx (title>? AND title<?)");
  });

  it("comment list of a post: the page from the comments index alone", async () => {
    const log = await statementsOf("GET", `/posts/${postId}/comments?page=2`, { token: user.accessToken });
    await expectIndexedPlans(log);
    expect((await Promise.all(log.map(plan))).flat()).toContain(
      "SEARCH comments USING COVERING INDEX comments_post_created_at_idx (post_id=?)",
    );
  });

  it("user list without a search: walks users_created_at_idx, total from table_counts", async () => {
    const log = await statementsOf("GET", "/users", { token: admin.accessToken });
    await expectIndexedPlans(log, ["SCAN users USING INDEX users_created_at_idx"]);
    expect((await Promise.all(log.map(plan))).flat()).not.toContain("USE TEMP B-TREE FOR ORDER BY");
  });

  /** A page's `meta.nextCursor` from the real app, to replay through the recording one. */
  const cursorOf = async (path: string, token: string) => {
    const res = await api("GET", path, { token });
    expect(res.body.meta?.nextCursor, `${path}: ${JSON.stringify(res.body)}`).toEqual(expect.any(String));
    return encodeURIComponent(res.body.meta.nextCursor);
  };

  it("pages by cursor seek in the list's index: no SCAN, no OFFSET walk", async () => {
    await api("POST", "/posts", { token: user.accessToken, body: { title: "Planned too", content: "x" } });
    for (let i = 0; i < 2; i++) {
      await api("POST", `/posts/${postId}/comments`, { token: user.accessToken, body: { content: `c${i}` } });
    }
    const cases: [string, string, string][] = [
      ["/posts?limit=1", user.accessToken, "posts_created_at_idx"],
      [`/posts?limit=1&authorId=${user.user.id}`, user.accessToken, "posts_author_created_at_idx"],
      [`/posts/${postId}/comments?limit=1`, user.accessToken, "comments_post_created_at_idx"],
      ["/users?limit=1&sort=-createdAt", admin.accessToken, "users_created_at_idx"],
      ["/users?limit=1&sort=createdAt", admin.accessToken, "users_created_at_idx"],
      ["/users?limit=1&sort=username", admin.accessToken, "users_username_unique"],
      ["/users?limit=1&sort=email", admin.accessToken, "users_email_unique"],
      ["/audit?limit=1", admin.accessToken, "audit_events_created_at_idx"],
    ];
    for (const [path, token, index] of cases) {
      const cursor = await cursorOf(path, token);
      const log = await statementsOf("GET", `${path}&cursor=${cursor}`, { token });
      // The audit total is still a count of the whole trail (no counter, see README): the one walk allowed.
      const walks = path.startsWith("/audit")
        ? ["SCAN audit_events USING COVERING INDEX sqlite_autoindex_audit_events_1"]
        : [];
      await expectIndexedPlans(log, walks);
      const lines = (await Promise.all(log.map(plan))).flat().join("\n");
      expect(lines, path).toMatch(new RegExp(`SEARCH \\w+ USING (COVERING )?INDEX ${index} \\(`));
    }
  });
});

describe("totals kept by triggers (table_counts, posts.comment_count)", () => {
  it("a post's comment count stays exact through parallel comments, a delete and a commenter's account deletion", async () => {
    const [author, commenter] = await Promise.all([registerAndLogin(), registerAndLogin()]);
    const post = await api("POST", "/posts", { token: author.accessToken, body: { title: "Counted", content: "x" } });
    const id = post.body.data.post.id;
    const comment = (s: Session, content: string) =>
      api("POST", `/posts/${id}/comments`, { token: s.accessToken, body: { content } });
    const made = await Promise.all([comment(author, "a"), comment(commenter, "b"), comment(commenter, "c")]);
    await api("DELETE", `/comments/${made[0]?.body.data.comment.id}`, { token: author.accessToken });
    const counts = async () => [
      (await api("GET", `/posts/${id}`, { token: author.accessToken })).body.data.post.commentCount,
      (await api("GET", `/posts/${id}/comments?limit=1`, { token: author.accessToken })).body.meta.total,
      (await env.DB.prepare("select count(*) as n from comments where post_id = ?").bind(id).first<{ n: number }>())?.n,
    ];
    expect(await counts()).toEqual([2, 2, 2]);

    // Deleting the commenter's account cascades to their two comments.
    const gone = await api("DELETE", "/me", {
      token: commenter.accessToken,
      body: { password: commenter.user.password },
    });
    expect(gone.status).toBe(200);
    expect(await counts()).toEqual([0, 0, 0]);
  });

  const counted = async (table: "posts" | "users") =>
    (await env.DB.prepare(`select count(*) as n from ${table}`).first<{ n: number }>())?.n;

  it("GET /posts and GET /users report exact totals through creates, deletes and a cascading account deletion", async () => {
    const admin = await registerAndLogin();
    await setRole(admin.user.id, "admin");
    const totals = async () => ({
      posts: (await api("GET", "/posts?limit=1", { token: admin.accessToken })).body.meta.total,
      users: (await api("GET", "/users?limit=1", { token: admin.accessToken })).body.meta.total,
    });
    const before = await totals();
    expect(before).toEqual({ posts: await counted("posts"), users: await counted("users") });

    const author = await registerAndLogin();
    const write = (title: string) =>
      api("POST", "/posts", { token: author.accessToken, body: { title, content: "Counted" } });
    const [first] = await Promise.all([write("One"), write("Two"), write("Three")]);
    await api("DELETE", `/posts/${first?.body.data.post.id}`, { token: author.accessToken });
    expect(await totals()).toEqual({ posts: before.posts + 2, users: before.users + 1 });

    // Deleting the account cascades to its two remaining posts.
    const gone = await api("DELETE", "/me", { token: author.accessToken, body: { password: author.user.password } });
    expect(gone.status).toBe(200);
    expect(await totals()).toEqual({ posts: before.posts, users: before.users });
    expect(await totals()).toEqual({ posts: await counted("posts"), users: await counted("users") });
  });
});
