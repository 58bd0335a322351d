import { beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, api, registerAndLogin, type Session, unique } from "../support/api";
import { createComment, createPost } from "../support/content";
import { rows } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { signedInAs } from "../support/roles";

/*
 * Insecure direct object references: every route that takes an `:id` is
 * called by an attacker with a victim's id. The attacker is refused, learns
 * nothing about the victim, and D1 is exactly as it was: the victim's rows,
 * their sessions, and no audit event in the attacker's name.
 */

type Victim = { session: Session; postId: string; commentId: string; sessionId: string };

async function newVictim(): Promise<Victim> {
  const session = await registerAndLogin();
  const post = await createPost(session.accessToken, { title: unique("Victim post "), content: "victim content" });
  const comment = await createComment(session.accessToken, post.id, "victim comment");
  const sessions = await api("GET", "/me/sessions", { token: session.accessToken });
  return { session, postId: post.id, commentId: comment.id, sessionId: sessions.body.data[0].id };
}

/** Everything of the victim's an attack could change, and every audit event the attacker caused. */
const snapshot = async (victim: Victim, attacker: Session) => ({
  user: await rows("select * from users where id = ?", victim.session.user.id),
  sessions: await rows("select * from sessions where user_id = ? order by id", victim.session.user.id),
  posts: await rows("select * from posts where author_id = ? order by id", victim.session.user.id),
  comments: await rows("select * from comments where post_id = ? order by id", victim.postId),
  audit: await rows("select * from audit_events where actor_id = ? order by id", attacker.user.id),
});

type Attack = (attacker: Session, victim: Victim) => Promise<ApiResponse>;
const as = (s: Session) => ({ token: s.accessToken });
const freshProfile = () => {
  const username = unique("pwn_");
  return { username, email: `${username}@evil.test` };
};

const userRoutes: [string, Attack][] = [
  ["GET /user/:id", (a, v) => api("GET", `/user/${v.session.user.id}`, as(a))],
  ["PUT /user/:id", (a, v) => api("PUT", `/user/${v.session.user.id}`, { ...as(a), body: freshProfile() })],
  [
    "PATCH /user/:id email",
    (a, v) => api("PATCH", `/user/${v.session.user.id}`, { ...as(a), body: { email: freshProfile().email } }),
  ],
  ["PATCH /user/:id role", (a, v) => api("PATCH", `/user/${v.session.user.id}`, { ...as(a), body: { role: "admin" } })],
  [
    "PATCH /user/:id status",
    (a, v) => api("PATCH", `/user/${v.session.user.id}`, { ...as(a), body: { status: "suspended" } }),
  ],
  ["DELETE /user/:id", (a, v) => api("DELETE", `/user/${v.session.user.id}`, as(a))],
];

const contentRoutes: [string, Attack][] = [
  [
    "PUT /posts/:id",
    (a, v) => api("PUT", `/posts/${v.postId}`, { ...as(a), body: { title: "pwned", content: "pwned" } }),
  ],
  ["PATCH /posts/:id", (a, v) => api("PATCH", `/posts/${v.postId}`, { ...as(a), body: { title: "pwned" } })],
  ["DELETE /posts/:id", (a, v) => api("DELETE", `/posts/${v.postId}`, as(a))],
  ["PATCH /comments/:id", (a, v) => api("PATCH", `/comments/${v.commentId}`, { ...as(a), body: { content: "pwned" } })],
  ["DELETE /comments/:id", (a, v) => api("DELETE", `/comments/${v.commentId}`, as(a))],
];

/** Runs one attack against a fresh victim and checks the refusal, the body and D1. */
async function expectRefusedAndNothingChanged(attacker: Session, attack: Attack, status: number, code: string) {
  const victim = await newVictim();
  const before = await snapshot(victim, attacker);
  const res = await attack(attacker, victim);
  expectFailure(res, status, code);
  // The refusal says nothing about the victim.
  const text = JSON.stringify(res.body);
  for (const secret of [victim.session.user.email, victim.session.user.username]) expect(text).not.toContain(secret);
  expect(await snapshot(victim, attacker)).toEqual(before);
  // And the victim's own session still works.
  expect((await api("GET", "/me", as(victim.session))).status).toBe(200);
}

describe("a plain user aiming at another user's resources by id", () => {
  let mallory: Session;
  beforeAll(async () => {
    mallory = await registerAndLogin();
  });

  it.each(userRoutes)("%s answers 403 FORBIDDEN and changes nothing", async (_, attack) => {
    await expectRefusedAndNothingChanged(mallory, attack, 403, "FORBIDDEN");
  });

  it.each(contentRoutes)("%s answers 403 FORBIDDEN and changes nothing", async (_, attack) => {
    await expectRefusedAndNothingChanged(mallory, attack, 403, "FORBIDDEN");
  });

  it("DELETE /me/sessions/:id answers 404, as for an unknown id, and the victim stays signed in", async () => {
    await expectRefusedAndNothingChanged(
      mallory,
      (a, v) => api("DELETE", `/me/sessions/${v.sessionId}`, as(a)),
      404,
      "NOT_FOUND",
    );
  });
});

describe("a moderator aiming at another user's account", () => {
  it.each(userRoutes.filter(([name]) => !name.startsWith("GET")))(
    "%s answers 403 FORBIDDEN and changes nothing",
    async (_, attack) => {
      await expectRefusedAndNothingChanged(await signedInAs("moderator"), attack, 403, "FORBIDDEN");
    },
  );

  it("DELETE /me/sessions/:id answers 404 and the victim stays signed in", async () => {
    await expectRefusedAndNothingChanged(
      await signedInAs("moderator"),
      (a, v) => api("DELETE", `/me/sessions/${v.sessionId}`, as(a)),
      404,
      "NOT_FOUND",
    );
  });
});

describe("ids that do not name what the route expects", () => {
  let mallory: Session;
  beforeAll(async () => {
    mallory = await registerAndLogin();
  });

  it("an id of another kind (user, comment, session) is no post: 404, and no comment is filed anywhere", async () => {
    const victim = await newVictim();
    const before = await snapshot(victim, mallory);
    for (const id of [victim.session.user.id, victim.commentId, victim.sessionId]) {
      for (const res of [
        await api("GET", `/posts/${id}`, as(mallory)),
        await api("PATCH", `/posts/${id}`, { ...as(mallory), body: { title: "pwned" } }),
        await api("DELETE", `/posts/${id}`, as(mallory)),
        await api("GET", `/posts/${id}/comments`, as(mallory)),
        await api("POST", `/posts/${id}/comments`, { ...as(mallory), body: { content: "pwned" } }),
      ]) {
        expectFailure(res, 404, "NOT_FOUND");
      }
    }
    expect(await rows("select id from comments where author_id = ?", mallory.user.id)).toEqual([]);
    expect(await snapshot(victim, mallory)).toEqual(before);
  });

  it("a post or user id is no comment: 404 and nothing changes", async () => {
    const victim = await newVictim();
    const before = await snapshot(victim, mallory);
    for (const id of [victim.postId, victim.session.user.id]) {
      expectFailure(
        await api("PATCH", `/comments/${id}`, { ...as(mallory), body: { content: "pwned" } }),
        404,
        "NOT_FOUND",
      );
      expectFailure(await api("DELETE", `/comments/${id}`, as(mallory)), 404, "NOT_FOUND");
    }
    expect(await snapshot(victim, mallory)).toEqual(before);
  });

  it("the victim's ids in upper case are refused exactly like in lower case (ids are normalised)", async () => {
    const victim = await newVictim();
    const before = await snapshot(victim, mallory);
    const attempts: [string, string, object?][] = [
      ["GET", `/user/${victim.session.user.id}`],
      ["DELETE", `/user/${victim.session.user.id}`],
      ["PATCH", `/posts/${victim.postId}`, { title: "pwned" }],
      ["DELETE", `/posts/${victim.postId}`],
      ["PATCH", `/comments/${victim.commentId}`, { content: "pwned" }],
      ["DELETE", `/comments/${victim.commentId}`],
      ["DELETE", `/me/sessions/${victim.sessionId}`],
    ];
    for (const [method, path, body] of attempts) {
      const lower = await api(method, path, { ...as(mallory), body });
      const upperPath = path.replace(/[0-9a-f-]{36}/, (id) => id.toUpperCase());
      const upper = await api(method, upperPath, { ...as(mallory), body });
      expect(lower.status).toBeGreaterThanOrEqual(403);
      expect([upper.status, upper.body.error?.code]).toEqual([lower.status, lower.body.error?.code]);
    }
    expect(await snapshot(victim, mallory)).toEqual(before);
  });
});
