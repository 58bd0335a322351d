import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, login, registerAndLogin, registerUser, type Session, setRole } from "./support/api";
import { createPost } from "./support/content";
import { d1Timing } from "./support/d1-usage";
import { suspendUser } from "./support/db";
import { expectFailure, expectUnauthorized } from "./support/expect-failure";
import { signedInAs } from "./support/roles";
import { settled } from "./support/settled";

/**
 * The guard's session check travels in the same D1 round trip as a GET
 * route's first read (src/db/gate.ts). These tests attack that deferral: the
 * route's answer must never leave when the check fails, whatever the route
 * read, in whatever order, in parallel, or when the token's role is stale.
 */
const as = (s: Session) => ({ token: s.accessToken });

async function loggedOut() {
  const s = await registerAndLogin();
  const postId: string = (await createPost(s.accessToken)).id;
  expect((await api("POST", "/logout", as(s))).status).toBe(200);
  return { s, postId };
}

describe("one round trip: the session check rides with the route's read", () => {
  it.each([
    ["GET /me", () => "/me"],
    ["GET /posts/:id", (id: string) => `/posts/${id}`],
    ["GET /posts", () => "/posts?limit=5"],
    ["GET /posts/:id/comments", (id: string) => `/posts/${id}/comments`],
    ["GET /me/sessions", () => "/me/sessions"],
    ["GET /user/:id (own id)", () => "/user/self"],
  ])("%s answers in 1 D1 round trip", async (_, path) => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    const res = await api("GET", path(post.id).replace("self", s.user.id), as(s));
    expect(res.status).toBe(200);
    expect(d1Timing(res).queries).toBe(1);
  });
});

describe("a failed check discards the route's answer", () => {
  it.each([
    ["GET /posts/:id", (id: string) => `/posts/${id}`],
    ["GET /posts", () => "/posts"],
    ["GET /posts/:id/comments", (id: string) => `/posts/${id}/comments`],
    ["GET /me", () => "/me"],
    ["GET /me/sessions", () => "/me/sessions"],
    ["GET /user/:id (own id)", () => "/user/self"],
  ])("%s with the token of a logged-out session: 401, no data", async (_, path) => {
    const { s, postId } = await loggedOut();
    const target = path(postId).replace("self", s.user.id);
    const res = await api("GET", target, as(s));
    expectUnauthorized(res);
    expect(JSON.stringify(res.body)).not.toContain(postId);
    expect(d1Timing(res).rows).toBeUndefined();
  });

  it("a post that does not exist still answers 401, not 404, to a dead session", async () => {
    const { s } = await loggedOut();
    expectUnauthorized(await api("GET", `/posts/${crypto.randomUUID()}`, as(s)));
  });

  it("a malformed query with a dead session answers 401, not 400", async () => {
    const { s } = await loggedOut();
    expectUnauthorized(await api("GET", "/posts?limit=banana", as(s)));
  });

  it("a suspended account reading posts gets 403 ACCOUNT_SUSPENDED, not the posts", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    await suspendUser(s.user.id);
    const answers = await Promise.all([
      api("GET", `/posts/${post.id}`, as(s)),
      api("GET", "/posts", as(s)),
      api("GET", "/me", as(s)),
    ]);
    for (const res of answers) expectFailure(res, 403, "ACCOUNT_SUSPENDED");
  });

  it("requests racing a logout in parallel: each answer is a 200 with data or a 401, never a mix", async () => {
    const s = await registerAndLogin();
    const post = await createPost(s.accessToken);
    const reads = Array.from({ length: 8 }, () => api("GET", `/posts/${post.id}`, as(s)));
    const [logout, ...answers] = await Promise.all([api("POST", "/logout", as(s)), ...reads]);
    expect(logout.status).toBe(200);
    for (const res of answers) {
      if (res.status === 200) expect(res.body.data.post.id).toBe(post.id);
      else expectUnauthorized(res);
    }
    expectUnauthorized(await api("GET", `/posts/${post.id}`, as(s)));
  });
});

describe("decisions by role wait for the check: the token's role claim decides nothing", () => {
  it("a user promoted after login reads another user's record at once (the role is the database's)", async () => {
    const s = await signedInAs("user");
    const other = await registerUser();
    expectFailure(await api("GET", `/user/${other.id}`, as(s)), 403, "FORBIDDEN");
    await setRole(s.user.id, "moderator");
    const res = await api("GET", `/user/${other.id}`, as(s));
    expect(res.status).toBe(200);
    expect(res.body.data.user.id).toBe(other.id);
  });

  it("a moderator demoted after login loses the user list and other users' records at once", async () => {
    const s = await signedInAs("moderator");
    const other = await registerUser();
    expect((await api("GET", `/user/${other.id}`, as(s))).status).toBe(200);
    await setRole(s.user.id, "user");
    const [list, record] = await Promise.all([api("GET", "/users", as(s)), api("GET", `/user/${other.id}`, as(s))]);
    expectFailure(list, 403, "FORBIDDEN");
    expectFailure(record, 403, "FORBIDDEN");
    expect(JSON.stringify(record.body)).not.toContain(other.email);
  });

  it("a demoted admin with a stale token cannot write as admin either (writes check first)", async () => {
    const admin = await signedInAs("admin");
    const target = await registerUser();
    await setRole(admin.user.id, "user");
    expectFailure(
      await api("PATCH", `/user/${target.id}`, { ...as(admin), body: { role: "moderator" } }),
      403,
      "FORBIDDEN",
    );
  });
});

/**
 * Reads decided by role (GET /users, GET /audit, another user's GET /user/:id)
 * carry the role rule in the session check itself (`SessionGate.demand`), so
 * they travel in one round trip like any read; these attack that: the route's
 * rows were fetched in the same batch, and must never leave unless the role
 * loaded with the check allows it.
 */
describe("reads decided by role: one round trip, and no data unless the checked role allows it", () => {
  const roleDecided = (otherId: string) => ["/users?limit=5", "/audit?limit=5", `/user/${otherId}`];

  it("an admin lists users, the audit trail and another user's record in 1 D1 round trip each", async () => {
    const admin = await signedInAs("admin");
    const other = await registerUser();
    for (const path of roleDecided(other.id)) {
      const res = await api("GET", path, as(admin));
      expect(res.status, path).toBe(200);
      expect(d1Timing(res).queries, path).toBe(1);
    }
  });

  it("a plain user calling the admin reads gets 403 FORBIDDEN, none of the rows, no row counts", async () => {
    const s = await signedInAs("user");
    const other = await registerUser();
    for (const path of roleDecided(other.id)) {
      const res = await api("GET", path, as(s));
      expectFailure(res, 403, "FORBIDDEN");
      expect(JSON.stringify(res.body)).not.toContain(other.email);
      expect(JSON.stringify(res.body)).not.toContain(other.id);
      expect(d1Timing(res).rows).toBeUndefined();
    }
  });

  it("a moderator may read another user's record but not the audit trail", async () => {
    const s = await signedInAs("moderator");
    const other = await registerUser();
    expect((await api("GET", `/user/${other.id}`, as(s))).body.data.user.id).toBe(other.id);
    expectFailure(await api("GET", "/audit", as(s)), 403, "FORBIDDEN");
  });

  it("a suspended admin gets 403 ACCOUNT_SUSPENDED and no data, a logged-out admin 401", async () => {
    const suspended = await signedInAs("admin");
    const loggedOutAdmin = await signedInAs("admin");
    const other = await registerUser();
    await suspendUser(suspended.user.id);
    expect((await api("POST", "/logout", as(loggedOutAdmin))).status).toBe(200);
    for (const path of roleDecided(other.id)) {
      const res = await api("GET", path, as(suspended));
      expectFailure(res, 403, "ACCOUNT_SUSPENDED");
      expect(JSON.stringify(res.body)).not.toContain(other.email);
      expectUnauthorized(await api("GET", path, as(loggedOutAdmin)));
    }
  });

  it("an admin demoted mid-flight: each parallel read is a 200 with data or a 403 with none, then 403", async () => {
    const admin = await signedInAs("admin");
    const other = await registerUser();
    const reads = Array.from({ length: 6 }, (_, i) => api("GET", roleDecided(other.id)[i % 3] as string, as(admin)));
    const [, ...answers] = await Promise.all([setRole(admin.user.id, "user"), ...reads]);
    for (const res of answers) {
      if (res.status === 200) expect(res.body.data).toBeDefined();
      else {
        expectFailure(res, 403, "FORBIDDEN");
        expect(JSON.stringify(res.body)).not.toContain(other.email);
      }
    }
    for (const path of roleDecided(other.id)) expectFailure(await api("GET", path, as(admin)), 403, "FORBIDDEN");
  });

  it("an unknown id asked by a plain user is 403, not 404: the rule decides before the row is looked at", async () => {
    const s = await signedInAs("user");
    expectFailure(await api("GET", `/user/${crypto.randomUUID()}`, as(s)), 403, "FORBIDDEN");
  });
});

/**
 * Writes that carry the session check (guard.ts `requireAuthInWrite`: POST
 * /posts, POST /posts/:id/comments, POST /logout): the check rides in the
 * write's own batch (one round trip), so nothing stands between the check and
 * the write but the write's own condition. Each case: the check fails (401 or
 * 403), and the write must not have happened. Without the condition in the
 * write, every one of these would leave a row behind.
 */
describe("writes carrying the session check: one round trip, and nothing written when the check fails", () => {
  const count = async (sql: string, ...values: unknown[]) =>
    (
      await env.DB.prepare(sql)
        .bind(...values)
        .first<{ n: number }>()
    )?.n ?? 0;
  const postsOf = (userId: string) => count("select count(*) as n from posts where author_id = ?", userId);
  const commentsOf = (userId: string) => count("select count(*) as n from comments where author_id = ?", userId);
  const logoutsOf = (userId: string) =>
    count("select count(*) as n from audit_events where action = 'logout' and actor_id = ?", userId);
  const liveSessionsOf = (userId: string) =>
    count("select count(*) as n from sessions where user_id = ? and revoked_at is null", userId);

  /** Each way a session dies between the token's issue and the write, with the answer the guard gives. */
  const deaths: [string, (s: Session) => Promise<unknown>, number, string][] = [
    [
      "revoked session",
      (s) =>
        env.DB.prepare("update sessions set revoked_at = ? where user_id = ?")
          .bind(new Date().toISOString(), s.user.id)
          .run(),
      401,
      "UNAUTHORIZED",
    ],
    ["suspended user", (s) => suspendUser(s.user.id), 403, "ACCOUNT_SUSPENDED"],
  ];

  it("POST /posts, POST comments and POST /logout answer in 1 D1 round trip", async () => {
    const s = await registerAndLogin();
    const created = await api("POST", "/posts", { ...as(s), body: { title: "One trip", content: "x" } });
    expect(created.status).toBe(201);
    expect(d1Timing(created).queries).toBe(1);
    const comment = await api("POST", `/posts/${created.body.data.post.id}/comments`, {
      ...as(s),
      body: { content: "y" },
    });
    expect(comment.status).toBe(201);
    expect(d1Timing(comment).queries).toBe(1);
    const out = await api("POST", "/logout", as(s));
    expect(out.status).toBe(200);
    expect(d1Timing(out).queries).toBe(1);
  });

  it.each(deaths)("%s: POST /posts and POST comments write nothing", async (_, kill, status, code) => {
    const s = await registerAndLogin();
    const other = await registerAndLogin();
    const post = await createPost(other.accessToken);
    await kill(s);
    expectFailure(await api("POST", "/posts", { ...as(s), body: { title: "Ghost", content: "x" } }), status, code);
    expectFailure(await api("POST", `/posts/${post.id}/comments`, { ...as(s), body: { content: "x" } }), status, code);
    expect(await postsOf(s.user.id)).toBe(0);
    expect(await commentsOf(s.user.id)).toBe(0);
  });

  it.each(deaths)(
    "%s: POST /logout (one, or all) writes no audit event and revokes nothing",
    async (_, kill, status, code) => {
      const s = await registerAndLogin();
      const second = await login(s.user);
      await kill(s);
      const live = await liveSessionsOf(s.user.id);
      // The second session is still live after a suspension (sessions are revoked by the API's suspension, not this one).
      expectFailure(await api("POST", "/logout", { ...as(s), body: { all: true } }), status, code);
      expectFailure(
        await api("POST", "/logout", { ...as(s), body: { refreshToken: second.refreshToken } }),
        status,
        code,
      );
      expect(await logoutsOf(s.user.id)).toBe(0);
      expect(await liveSessionsOf(s.user.id)).toBe(live);
    },
  );

  it("an unverified account under REQUIRE_EMAIL_VERIFICATION, and an admin without MFA under REQUIRE_MFA_ROLES, write nothing", async () => {
    const unverified = await registerAndLogin();
    const verifyOn = { REQUIRE_EMAIL_VERIFICATION: "true" };
    const body = { title: "Not yet", content: "x" };
    expectFailure(
      await settled("POST", "/posts", { ...as(unverified), body, bindings: verifyOn }),
      403,
      "EMAIL_NOT_VERIFIED",
    );
    expect(await postsOf(unverified.user.id)).toBe(0);

    const admin = await signedInAs("admin");
    const mfaOn = { REQUIRE_MFA_ROLES: "admin" };
    expectFailure(
      await settled("POST", "/posts", { ...as(admin), body, bindings: mfaOn }),
      403,
      "MFA_ENROLLMENT_REQUIRED",
    );
    expect(await postsOf(admin.user.id)).toBe(0);
    // Logout is an enrolment path: it stays open to them, and it still writes in one round trip.
    const out = await settled("POST", "/logout", { ...as(admin), bindings: mfaOn });
    expect(out.status).toBe(200);
    expect(await logoutsOf(admin.user.id)).toBe(1);
  });

  it("posts racing a logout in parallel: every 201 left its row, every 401 left none", async () => {
    const s = await registerAndLogin();
    const writes = Array.from({ length: 8 }, (_, i) =>
      api("POST", "/posts", { ...as(s), body: { title: `Race ${i}`, content: "x" } }),
    );
    const [out, ...answers] = await Promise.all([api("POST", "/logout", as(s)), ...writes]);
    expect(out.status).toBe(200);
    for (const res of answers) if (res.status !== 201) expectUnauthorized(res);
    expect(await postsOf(s.user.id)).toBe(answers.filter((res) => res.status === 201).length);
  });
});

describe("edits and deletes carrying the session check and the role: nothing changes when either fails", () => {
  const postRow = (id: string) =>
    env.DB.prepare("select title from posts where id = ?").bind(id).first<{ title: string }>();
  const commentRow = (id: string) =>
    env.DB.prepare("select content from comments where id = ?").bind(id).first<{ content: string }>();
  const moderationEventsBy = async (actorId: string) =>
    (
      await env.DB.prepare(
        "select count(*) as n from audit_events where actor_id = ? and action in ('post_update', 'post_delete', 'comment_update', 'comment_delete')",
      )
        .bind(actorId)
        .first<{ n: number }>()
    )?.n ?? 0;

  async function authorsContent() {
    const author = await registerAndLogin();
    const post = await createPost(author.accessToken);
    const comment = await api("POST", `/posts/${post.id}/comments`, { ...as(author), body: { content: "Original" } });
    return { author, postId: post.id as string, commentId: comment.body.data.comment.id as string };
  }

  const edits = (postId: string, commentId: string): [string, string, unknown][] => [
    ["PATCH", `/posts/${postId}`, { title: "Changed" }],
    ["PUT", `/posts/${postId}`, { title: "Changed", content: "Changed" }],
    ["PATCH", `/comments/${commentId}`, { content: "Changed" }],
    ["DELETE", `/comments/${commentId}`, undefined],
    ["DELETE", `/posts/${postId}`, undefined],
  ];

  it("own edits and deletes answer in 1 D1 round trip", async () => {
    const { author, postId, commentId } = await authorsContent();
    for (const [method, path, body] of edits(postId, commentId)) {
      const res = await api(method, path, { ...as(author), body });
      expect(res.status, `${method} ${path}`).toBe(200);
      expect(d1Timing(res).queries, `${method} ${path}`).toBe(1);
    }
  });

  it.each([
    ["revoked", (s: Session) => api("POST", "/logout", as(s)), 401, "UNAUTHORIZED"],
    ["suspended", (s: Session) => suspendUser(s.user.id), 403, "ACCOUNT_SUSPENDED"],
  ])("the author's session %s: no edit, no delete", async (_, kill, status, code) => {
    const { author, postId, commentId } = await authorsContent();
    await kill(author);
    for (const [method, path, body] of edits(postId, commentId)) {
      expectFailure(await api(method, path, { ...as(author), body }), status as number, code as string);
    }
    expect((await postRow(postId))?.title).not.toBe("Changed");
    expect((await commentRow(commentId))?.content).toBe("Original");
  });

  it("a moderator demoted after login: 403, the content untouched, no moderation event", async () => {
    const { postId, commentId } = await authorsContent();
    const moderator = await signedInAs("moderator");
    await setRole(moderator.user.id, "user");
    for (const [method, path, body] of edits(postId, commentId)) {
      expectFailure(await api(method, path, { ...as(moderator), body }), 403, "FORBIDDEN");
    }
    expect((await postRow(postId))?.title).not.toBe("Changed");
    expect((await commentRow(commentId))?.content).toBe("Original");
    expect(await moderationEventsBy(moderator.user.id)).toBe(0);
  });

  it("a moderator still a moderator edits and deletes in 1 round trip, audited once each", async () => {
    const { postId, commentId } = await authorsContent();
    const moderator = await signedInAs("moderator");
    for (const [method, path, body] of edits(postId, commentId)) {
      const res = await api(method, path, { ...as(moderator), body });
      expect(res.status, `${method} ${path}`).toBe(200);
      expect(d1Timing(res).queries).toBe(1);
    }
    expect(await moderationEventsBy(moderator.user.id)).toBe(5);
  });
});

describe("DELETE /me/sessions/:id carries the session check: one round trip, nothing revoked when it fails", () => {
  const isLive = async (id: string) =>
    (
      await env.DB.prepare("select revoked_at from sessions where id = ?")
        .bind(id)
        .first<{ revoked_at: string | null }>()
    )?.revoked_at === null;
  const otherSessionOf = async (s: Session) => {
    await login(s.user);
    const list = await api("GET", "/me/sessions", as(s));
    return list.body.data.find((other: { current: boolean }) => !other.current).id as string;
  };

  it("revokes another own session in 1 D1 round trip", async () => {
    const s = await registerAndLogin();
    const other = await otherSessionOf(s);
    const res = await api("DELETE", `/me/sessions/${other}`, as(s));
    expect(res.status).toBe(200);
    expect(d1Timing(res).queries).toBe(1);
    expect(await isLive(other)).toBe(false);
  });

  it.each([
    ["revoked", (s: Session) => api("POST", "/logout", as(s)), 401, "UNAUTHORIZED"],
    ["suspended", (s: Session) => suspendUser(s.user.id), 403, "ACCOUNT_SUSPENDED"],
  ])("the caller's session %s: the other session stays live, no audit event", async (_, kill, status, code) => {
    const s = await registerAndLogin();
    const other = await otherSessionOf(s);
    await kill(s);
    expectFailure(await api("DELETE", `/me/sessions/${other}`, as(s)), status as number, code as string);
    expect(await isLive(other)).toBe(true);
    const events = await env.DB.prepare(
      "select count(*) as n from audit_events where action = 'session_revoke' and actor_id = ?",
    )
      .bind(s.user.id)
      .first<{ n: number }>();
    expect(events?.n).toBe(0);
  });
});

describe("DELETE /me/pending-email carries the session check: one round trip, nothing cancelled when it fails", () => {
  const pendingOf = async (id: string) =>
    (await env.DB.prepare("select pending_email from users where id = ?").bind(id).first<{ pending_email: string }>())
      ?.pending_email;
  const withPending = async () => {
    const s = await registerAndLogin();
    const address = `pending-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await env.DB.prepare("update users set pending_email = ?, pending_email_expires_at = ? where id = ?")
      .bind(address, until, s.user.id)
      .run();
    return { s, address };
  };

  it("cancels in 1 D1 round trip", async () => {
    const { s } = await withPending();
    const res = await api("DELETE", "/me/pending-email", as(s));
    expect(res.status).toBe(200);
    expect(d1Timing(res).queries).toBe(1);
    expect(await pendingOf(s.user.id)).toBeNull();
  });

  it.each([
    ["revoked", (s: Session) => api("POST", "/logout", as(s)), 401, "UNAUTHORIZED"],
    ["suspended", (s: Session) => suspendUser(s.user.id), 403, "ACCOUNT_SUSPENDED"],
  ])("the caller's session %s: the pending change stays", async (_, kill, status, code) => {
    const { s, address } = await withPending();
    await kill(s);
    expectFailure(await api("DELETE", "/me/pending-email", as(s)), status as number, code as string);
    expect(await pendingOf(s.user.id)).toBe(address);
  });
});
