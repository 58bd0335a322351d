import { describe, expect, it } from "vitest";
import { type ApiResponse, registerAndLogin, type Session, unique } from "../support/api";
import { createComment, createPost } from "../support/content";
import { rows } from "../support/db";
import { expectFailure } from "../support/expect-failure";
import { emailsTo, tokenFrom, waitForEmail, waitForToken } from "../support/mailbox";
import { settled } from "../support/settled";

/*
 * Mass assignment: a field the server owns, added to an otherwise valid body
 * of every write, must fail the whole request with 400 VALIDATION_ERROR naming
 * the field, and write nothing, not even the valid part. (POST /register has
 * the same checks in login.test.ts.)
 */

const SMUGGLED: [string, unknown][] = [
  ["role", "admin"],
  ["id", crypto.randomUUID()],
  ["status", "active"],
  ["emailVerified", true],
  ["emailVerifiedAt", "2000-01-01T00:00:00.000Z"],
  ["passwordHash", "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"],
  ["authorId", crypto.randomUUID()],
  ["postId", crypto.randomUUID()],
  ["userId", crypto.randomUUID()],
  ["createdAt", "2000-01-01T00:00:00.000Z"],
  ["updatedAt", "2000-01-01T00:00:00.000Z"],
  ["commentCount", 999],
  ["failedLoginCount", 0],
  ["lockedUntil", null],
  ["author_id", crypto.randomUUID()],
  ["email_verified_at", "2000-01-01T00:00:00.000Z"],
  ["__proto__", { role: "admin" }],
  ["constructor", { prototype: { role: "admin" } }],
];

/** A valid body with one more key, as raw JSON so that `__proto__` arrives as an own key. */
const withField = (body: object, key: string, value: unknown) => {
  const fields = JSON.stringify(body).slice(1, -1);
  return `{${fields}${fields ? "," : ""}${JSON.stringify(key)}:${JSON.stringify(value)}}`;
};

const JSON_HEADERS = { "Content-Type": "application/json" };
const NEW_PASSWORD = "new-staple-orbit-42";

/** Everything of an account a write could touch, including the mail it was sent. */
const accountState = async (s: Session) => ({
  user: await rows("select * from users where id = ?", s.user.id),
  sessions: await rows("select * from sessions where user_id = ? order by id", s.user.id),
  posts: await rows("select * from posts where author_id = ? order by id", s.user.id),
  comments: await rows("select * from comments where author_id = ? order by id", s.user.id),
  audit: await rows("select * from audit_events where actor_id = ?1 or target_id = ?1 order by id", s.user.id),
  mail: (await emailsTo(s.user.email)).length,
});

/** A signed-in account whose verification email has arrived, so its mailbox no longer changes by itself. */
async function freshAccount() {
  const s = await registerAndLogin();
  const verification = await waitForEmail(s.user.email);
  return { s, verifyToken: tokenFrom(verification) };
}

type Write = {
  /** The valid body the smuggled field is added to. */
  body: object;
  send: (rawBody: string) => Promise<ApiResponse>;
  /** Fields this route does accept, answered otherwise (e.g. role for a non-admin). */
  refusedOtherwise?: Record<string, [number, string]>;
  /** Proves the request, without the extra field, would have worked and was not consumed. */
  thenWorks?: () => Promise<void>;
};

type Case = { route: string; prepare: (s: Session, verifyToken: string) => Promise<Write> };

const call = (method: string, path: string, s?: Session) => (rawBody: string) =>
  settled(method, path, { rawBody, headers: JSON_HEADERS, token: s?.accessToken });

const cases: Case[] = [
  {
    route: "POST /login",
    prepare: async (s) => ({ body: { email: s.user.email, password: s.user.password }, send: call("POST", "/login") }),
  },
  {
    route: "POST /refresh",
    prepare: async (s) => ({ body: { refreshToken: s.refreshToken }, send: call("POST", "/refresh") }),
  },
  { route: "POST /logout", prepare: async (s) => ({ body: {}, send: call("POST", "/logout", s) }) },
  {
    route: "PATCH /me",
    prepare: async (s) => ({ body: { username: unique("ma_") }, send: call("PATCH", "/me", s) }),
  },
  {
    route: "DELETE /me",
    prepare: async (s) => ({ body: { password: s.user.password }, send: call("DELETE", "/me", s) }),
  },
  {
    route: "PUT /user/:id (self)",
    prepare: async (s) => ({
      body: { username: unique("ma_"), email: s.user.email },
      send: call("PUT", `/user/${s.user.id}`, s),
    }),
  },
  {
    route: "PATCH /user/:id (self)",
    prepare: async (s) => ({
      body: { username: unique("ma_") },
      send: call("PATCH", `/user/${s.user.id}`, s),
      // Part of this route's schema, for admins only.
      refusedOtherwise: { role: [403, "FORBIDDEN"], status: [403, "FORBIDDEN"] },
    }),
  },
  {
    route: "POST /me/password",
    prepare: async (s) => ({
      body: { currentPassword: s.user.password, newPassword: NEW_PASSWORD },
      send: call("POST", "/me/password", s),
    }),
  },
  {
    route: "POST /forgot-password",
    prepare: async (s) => ({ body: { email: s.user.email }, send: call("POST", "/forgot-password") }),
  },
  {
    route: "POST /reset-password",
    prepare: async (s) => {
      expect((await settled("POST", "/forgot-password", { body: { email: s.user.email } })).status).toBe(200);
      const token = await waitForToken(s.user.email, "/reset-password");
      const body = { token, password: NEW_PASSWORD };
      return {
        body,
        send: call("POST", "/reset-password"),
        thenWorks: async () => expect((await settled("POST", "/reset-password", { body })).status).toBe(200),
      };
    },
  },
  {
    route: "POST /verify-email",
    prepare: async (s, token) => ({
      body: { token },
      send: call("POST", "/verify-email", s),
      thenWorks: async () => {
        const res = await settled("POST", "/verify-email", { token: s.accessToken, body: { token } });
        expect(res.body.data.user.emailVerified).toBe(true);
      },
    }),
  },
  {
    route: "POST /resend-verification",
    prepare: async (s) => ({ body: {}, send: call("POST", "/resend-verification", s) }),
  },
  {
    route: "POST /posts",
    prepare: async (s) => ({ body: { title: "t", content: "c" }, send: call("POST", "/posts", s) }),
  },
  {
    route: "PUT /posts/:id",
    prepare: async (s) => {
      const post = await createPost(s.accessToken);
      return { body: { title: "new", content: "new" }, send: call("PUT", `/posts/${post.id}`, s) };
    },
  },
  {
    route: "PATCH /posts/:id",
    prepare: async (s) => {
      const post = await createPost(s.accessToken);
      return { body: { title: "new" }, send: call("PATCH", `/posts/${post.id}`, s) };
    },
  },
  {
    route: "POST /posts/:id/comments",
    prepare: async (s) => {
      const post = await createPost(s.accessToken);
      return { body: { content: "c" }, send: call("POST", `/posts/${post.id}/comments`, s) };
    },
  },
  {
    route: "PATCH /comments/:id",
    prepare: async (s) => {
      const comment = await createComment(s.accessToken, (await createPost(s.accessToken)).id);
      return { body: { content: "new" }, send: call("PATCH", `/comments/${comment.id}`, s) };
    },
  },
];

describe("server-owned fields smuggled into a write body", () => {
  it.each(cases)("$route refuses each one naming it, and writes nothing", async ({ prepare }) => {
    const { s, verifyToken } = await freshAccount();
    const write = await prepare(s, verifyToken);
    const before = await accountState(s);

    for (const [key, value] of SMUGGLED) {
      const res = await write.send(withField(write.body, key, value));
      const otherwise = write.refusedOtherwise ?? {};
      const [status, code] = Object.hasOwn(otherwise, key) ? otherwise[key]! : [400, "VALIDATION_ERROR"];
      expectFailure(res, status, code);
      if (code === "VALIDATION_ERROR") expect(JSON.stringify(res.body.error.details), key).toContain(key);
    }

    expect(await accountState(s)).toEqual(before);
    expect((await settled("GET", "/me", { token: s.accessToken })).body.data.user).toMatchObject({
      role: "user",
      status: "active",
      emailVerified: false,
    });
    await write.thenWorks?.();
  });

  it("leaves Object.prototype untouched after __proto__ and constructor keys", () => {
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("role");
  });
});

describe("the valid part of a body with a smuggled field is not applied either", () => {
  it("PATCH /me with a new username and role: admin changes neither", async () => {
    const { s } = await freshAccount();
    const username = unique("half_");
    expectFailure(
      await settled("PATCH", "/me", { token: s.accessToken, body: { username, role: "admin" } }),
      400,
      "VALIDATION_ERROR",
    );
    expect(await rows("select username, role from users where id = ?", s.user.id)).toEqual([
      { username: s.user.username, role: "user" },
    ]);
  });

  it("a nested object or array of the field is no way around it", async () => {
    const { s } = await freshAccount();
    for (const body of [
      { username: unique("n_"), user: { role: "admin" } },
      { username: unique("n_"), data: { role: "admin" } },
      [{ role: "admin" }],
    ]) {
      expectFailure(await settled("PATCH", "/me", { token: s.accessToken, body }), 400, "VALIDATION_ERROR");
    }
    // A duplicated key: whichever copy the parser keeps, role is not a field of /me.
    const duplicated = `{"username":"${unique("d_")}","role":"user","role":"admin"}`;
    expectFailure(await call("PATCH", "/me", s)(duplicated), 400, "VALIDATION_ERROR");
    expect((await rows("select role from users where id = ?", s.user.id))[0]).toEqual({ role: "user" });
  });
});
