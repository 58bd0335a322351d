import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  api,
  login,
  PUBLIC_USER_KEYS,
  registerAndLogin,
  registerUser,
  type Session,
  STRONG_PASSWORD,
  unique,
} from "./support/api";
import { waitForEmail } from "./support/mailbox";
import {
  activeAdminCount,
  insertPostWithComment,
  makeSoleActiveAdmin,
  me,
  rowExists,
  signedInAs,
} from "./support/roles";

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

const auditRows = async (targetId: string, action: string) =>
  (
    await env.DB.prepare("select * from audit_events where target_id = ? and action = ?")
      .bind(targetId, action)
      .all<{ actor_id: string; details: string }>()
  ).results;

describe("GET /users", () => {
  let moderator: Session;
  const prefix = unique("srch").toLowerCase();

  beforeAll(async () => {
    moderator = await signedInAs("moderator");
    // `_` is a LIKE wildcard: taken literally it must match only the first of these.
    await registerUser({ username: `${prefix}_x`, email: `${prefix}.one@example.com` });
    await registerUser({ username: `${prefix}ax`, email: `${prefix}.two@example.com` });
    // Contains the prefix in the middle of both its username and its email: a prefix search must not find it.
    const third = await registerUser({ username: `mid${prefix}`, email: `zz.${prefix}@example.com` });
    await env.DB.prepare("update users set role = 'moderator', status = 'suspended' where id = ?").bind(third.id).run();
  });

  const list = (query: string, session = moderator) => api("GET", `/users?${query}`, { token: session.accessToken });

  it("lists users with pagination meta and never a password hash", async () => {
    const res = await list("limit=2");
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.meta).toMatchObject({ page: 1, limit: 2 });
    expect(res.body.meta.total).toBeGreaterThanOrEqual(4);
    expect(res.body.meta.totalPages).toBe(Math.ceil(res.body.meta.total / 2));
    expect(Object.keys(res.body.data[0]).sort()).toEqual(PUBLIC_USER_KEYS);
    expect(JSON.stringify(res.body)).not.toMatch(/password/i);
  });

  it("defaults to 20 per page", async () => {
    const res = await list("");
    expect(res.body.meta).toMatchObject({ page: 1, limit: 20 });
  });

  it("q is a case-insensitive prefix match on username or email", async () => {
    const res = await list(`q=${prefix.toUpperCase()}&sort=username`);
    expect(res.body.data.map((u: any) => u.username)).toEqual([`${prefix}_x`, `${prefix}ax`]);
    expect(res.body.meta.total).toBe(2);
    // Matches the start of the email too.
    const byEmail = await list(`q=zz.${prefix}`);
    expect(byEmail.body.data.map((u: any) => u.username)).toEqual([`mid${prefix}`]);
  });

  it("takes % and _ literally", async () => {
    const underscore = await list(`q=${prefix}_`);
    expect(underscore.body.data.map((u: any) => u.username)).toEqual([`${prefix}_x`]);
    const percent = await list(`q=${encodeURIComponent("%")}`);
    expect(percent.status).toBe(200);
    expect(percent.body.meta.total).toBe(0);
    const backslash = await list(`q=${encodeURIComponent(`${prefix}\\`)}`);
    expect(backslash.body.meta.total).toBe(0);
  });

  it("filters by role and status", async () => {
    const mods = await list(`q=zz.${prefix}&role=moderator`);
    expect(mods.body.data.map((u: any) => u.username)).toEqual([`mid${prefix}`]);
    expect((await list(`q=zz.${prefix}&role=user`)).body.meta.total).toBe(0);
    const suspended = await list(`q=zz.${prefix}&status=suspended`);
    expect(suspended.body.meta.total).toBe(1);
    const active = await list(`q=zz.${prefix}&status=active`);
    expect(active.body.meta.total).toBe(0);
  });

  it("sorts by createdAt either way, username or email", async () => {
    const asc = await list(`q=${prefix}&sort=createdAt`);
    expect(asc.body.data.map((u: any) => u.username)).toEqual([`${prefix}_x`, `${prefix}ax`]);
    const desc = await list(`q=${prefix}&sort=-createdAt`);
    expect(desc.body.data.map((u: any) => u.username)).toEqual([`${prefix}ax`, `${prefix}_x`]);
    const byEmail = await list(`q=${prefix}&sort=email`);
    expect(byEmail.body.data.map((u: any) => u.email)).toEqual([
      `${prefix}.one@example.com`,
      `${prefix}.two@example.com`,
    ]);
  });

  it("answers a page past the end with no items and the real meta", async () => {
    const res = await list(`q=${prefix}&page=5&limit=1`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
    expect(res.body.meta).toEqual({ page: 5, limit: 1, total: 2, totalPages: 2, nextCursor: null });
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["page=0", "page"],
    ["page=abc", "page"],
    ["sort=password", "sort"],
    ["sort=-username", "sort"],
    ["role=root", "role"],
    ["status=deleted", "status"],
    ["orderBy=username", "orderBy"],
  ])("rejects %s with 400 VALIDATION_ERROR", async (query, path) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
  });
});

describe("GET /user/:id", () => {
  it("shows a user to themselves without the hash", async () => {
    const s = await registerAndLogin();
    const res = await api("GET", `/user/${s.user.id}`, { token: s.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ id: s.user.id, email: s.user.email, role: "user" });
    expect(JSON.stringify(res.body)).not.toMatch(/password/i);
  });

  it("refuses a plain user another user's profile with 403, whether or not the id exists", async () => {
    const [alice, bob] = await Promise.all([registerAndLogin(), registerUser()]);
    for (const id of [bob.id, UNKNOWN_ID]) {
      const res = await api("GET", `/user/${id}`, { token: alice.accessToken });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
      expect(JSON.stringify(res.body)).not.toContain(bob.email);
    }
  });

  it("answers 404 for an unknown id and 400 for a malformed one", async () => {
    const admin = await signedInAs("admin");
    const missing = await api("GET", `/user/${UNKNOWN_ID}`, { token: admin.accessToken });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    for (const bad of ["1", "not-a-uuid", "1%20or%201%3D1"]) {
      const res = await api("GET", `/user/${bad}`, { token: admin.accessToken });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
    }
  });
});

describe("PUT and PATCH /user/:id", () => {
  it("lets a user replace their own username and email (PUT needs both; the email with currentPassword, pending)", async () => {
    const s = await registerAndLogin();
    const username = unique("put_");
    const email = `${username}@Example.COM`;
    const res = await api("PUT", `/user/${s.user.id}`, {
      token: s.accessToken,
      body: { username, email, currentPassword: s.user.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ username, email: s.user.email, pendingEmail: email.toLowerCase() });
    const partial = await api("PUT", `/user/${s.user.id}`, { token: s.accessToken, body: { username } });
    expect(partial.status).toBe(400);
    expect(partial.body.error.details.map((d: any) => d.path)).toContain("email");
  });

  it("refuses a user editing or deleting another user by id (IDOR) and leaves them untouched", async () => {
    const [mallory, victim] = await Promise.all([registerAndLogin(), registerAndLogin()]);
    const attempts = [
      api("PUT", `/user/${victim.user.id}`, {
        token: mallory.accessToken,
        body: { username: unique("pwn_"), email: `${unique("pwn")}@example.com` },
      }),
      api("PATCH", `/user/${victim.user.id}`, { token: mallory.accessToken, body: { email: "mallory@example.com" } }),
      api("DELETE", `/user/${victim.user.id}`, { token: mallory.accessToken }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    const still = await me(victim);
    expect(still.status).toBe(200);
    expect(still.body.data.user).toMatchObject({ username: victim.user.username, email: victim.user.email });
  });

  it("refuses a user or moderator changing their own role or status with 403", async () => {
    for (const role of ["user", "moderator"] as const) {
      const s = await signedInAs(role);
      for (const body of [{ role: "admin" }, { status: "active" }, { username: unique("x_"), role }]) {
        const res = await api("PATCH", `/user/${s.user.id}`, { token: s.accessToken, body });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("FORBIDDEN");
      }
      expect((await me(s)).body.data.user.role).toBe(role);
    }
  });

  it.each([
    [{ id: "00000000-0000-4000-8000-000000000001" }],
    [{ passwordHash: "$2b$04$abcdefghijklmnopqrstuuA1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p" }],
    [{ password: STRONG_PASSWORD }],
    [{ emailVerified: true }],
    [{ emailVerifiedAt: "2020-01-01T00:00:00.000Z" }],
    [{ createdAt: "2020-01-01T00:00:00.000Z" }],
  ])("rejects mass assignment of %o with 400 on PATCH, PUT and /me", async (extra) => {
    const s = await registerAndLogin();
    const calls = [
      api("PATCH", `/user/${s.user.id}`, { token: s.accessToken, body: { username: unique("m_"), ...extra } }),
      api("PUT", `/user/${s.user.id}`, {
        token: s.accessToken,
        body: { username: unique("m_"), email: s.user.email, ...extra },
      }),
      api("PATCH", "/me", { token: s.accessToken, body: { username: unique("m_"), ...extra } }),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
    }
    expect((await me(s)).body.data.user).toMatchObject({ username: s.user.username, emailVerified: false });
  });

  it("rejects an empty PATCH", async () => {
    const s = await registerAndLogin();
    const res = await api("PATCH", `/user/${s.user.id}`, { token: s.accessToken, body: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
  });

  it("answers 409 CONFLICT for a taken username or email, in any case", async () => {
    const [s, other] = await Promise.all([registerAndLogin(), registerUser()]);
    const byName = await api("PATCH", `/user/${s.user.id}`, {
      token: s.accessToken,
      body: { username: other.username.toUpperCase() },
    });
    expect(byName.status).toBe(409);
    expect(byName.body.error).toMatchObject({ code: "CONFLICT", details: [{ path: "username" }] });
    const byEmail = await api("PATCH", "/me", {
      token: s.accessToken,
      body: { email: other.email.toUpperCase(), currentPassword: s.user.password },
    });
    expect(byEmail.status).toBe(409);
    expect(byEmail.body.error).toMatchObject({ code: "CONFLICT", details: [{ path: "email" }] });
  });

  it("lets an admin change another user's email at once: unverified, verification mailed, old address told, audited", async () => {
    const [admin, target] = await Promise.all([signedInAs("admin"), registerAndLogin()]);
    await env.DB.prepare("update users set email_verified_at = '2020-01-01T00:00:00.000Z' where id = ?")
      .bind(target.user.id)
      .run();
    const email = `${unique("new")}@example.com`;
    const res = await api("PATCH", `/user/${target.user.id}`, { token: admin.accessToken, body: { email } });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ email, emailVerified: false });
    const mail = await waitForEmail(email);
    expect(mail.to).toEqual([email]);
    const notice = await waitForEmail(target.user.email, 2); // after the registration verification
    expect(notice.subject).toBe("Your email address was changed");
    expect(notice.text).not.toMatch(/token=/);
    expect(await auditRows(target.user.id, "user_update")).toEqual([]);
    const [event] = await auditRows(target.user.id, "email_change");
    expect(event?.actor_id).toBe(admin.user.id);
    expect(JSON.parse(event!.details)).toEqual({ from: target.user.email, to: email });
    const listed = await api("GET", `/audit?action=email_change&userId=${target.user.id}`, {
      token: admin.accessToken,
    });
    expect(listed.body.data).toHaveLength(1);
  });

  it("keeps verification when the email sent is the current one", async () => {
    const s = await registerAndLogin();
    await env.DB.prepare("update users set email_verified_at = '2020-01-01T00:00:00.000Z' where id = ?")
      .bind(s.user.id)
      .run();
    const res = await api("PATCH", "/me", { token: s.accessToken, body: { email: s.user.email.toUpperCase() } });
    expect(res.status).toBe(200);
    expect(res.body.data.user.emailVerified).toBe(true);
  });

  it("lets an admin change roles, and the new role applies to the user's very next request", async () => {
    const [admin, target] = await Promise.all([signedInAs("admin"), registerAndLogin()]);
    expect((await api("GET", "/users", { token: target.accessToken })).status).toBe(403);
    const res = await api("PATCH", `/user/${target.user.id}`, {
      token: admin.accessToken,
      body: { role: "moderator" },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.user.role).toBe("moderator");
    expect((await api("GET", "/users", { token: target.accessToken })).status).toBe(200);
    const [event] = await auditRows(target.user.id, "role_change");
    expect(JSON.parse(event!.details)).toEqual({ from: "user", to: "moderator" });
  });
});

describe("suspension", () => {
  it("revokes every session at once; guard, refresh and login then say ACCOUNT_SUSPENDED until reactivated", async () => {
    const admin = await signedInAs("admin");
    const target = await registerAndLogin();
    const second = await login(target.user);
    const res = await api("PATCH", `/user/${target.user.id}`, {
      token: admin.accessToken,
      body: { status: "suspended" },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.user.status).toBe("suspended");

    for (const s of [target, second]) {
      const denied = await me(s);
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe("ACCOUNT_SUSPENDED");
      const refresh = await api("POST", "/refresh", { body: { refreshToken: s.refreshToken } });
      expect(refresh.status).toBe(403);
      expect(refresh.body.error.code).toBe("ACCOUNT_SUSPENDED");
    }
    const relogin = await api("POST", "/login", { body: { email: target.user.email, password: target.user.password } });
    expect(relogin.status).toBe(403);
    expect(relogin.body.error.code).toBe("ACCOUNT_SUSPENDED");
    expect((await auditRows(target.user.id, "status_change")).length).toBe(1);

    const back = await api("PATCH", `/user/${target.user.id}`, {
      token: admin.accessToken,
      body: { status: "active" },
    });
    expect(back.status).toBe(200);
    expect((await me(await login(target.user))).status).toBe(200);
  });
});

describe("deletion", () => {
  it("lets an admin delete a user: their token dies, their posts and comments go", async () => {
    const [admin, target, bystander] = await Promise.all([signedInAs("admin"), registerAndLogin(), registerAndLogin()]);
    const own = await insertPostWithComment(target.user.id);
    // A comment the deleted user left on someone else's post goes too; the post stays.
    const theirs = await insertPostWithComment(bystander.user.id, target.user.id);

    const res = await api("DELETE", `/user/${target.user.id}`, { token: admin.accessToken });
    expect(res.status).toBe(200);

    const denied = await me(target);
    expect(denied.status).toBe(401);
    expect(await rowExists("posts", own.postId)).toBe(false);
    expect(await rowExists("comments", own.commentId)).toBe(false);
    expect(await rowExists("comments", theirs.commentId)).toBe(false);
    expect(await rowExists("posts", theirs.postId)).toBe(true);
    const again = await api("DELETE", `/user/${target.user.id}`, { token: admin.accessToken });
    expect(again.status).toBe(404);
    const [event] = await auditRows(target.user.id, "user_delete");
    expect(JSON.parse(event!.details)).toMatchObject({ username: target.user.username, email: target.user.email });
  });

  it("lets a user delete themselves by id only with their password, as DELETE /me", async () => {
    const s = await registerAndLogin();
    const bare = await api("DELETE", `/user/${s.user.id}`, { token: s.accessToken });
    // No proof at all is step-up's answer (docs/API.md "Second factor and step-up").
    expect(bare.status).toBe(403);
    expect(bare.body.error.code).toBe("REAUTHENTICATION_REQUIRED");
    const wrong = await api("DELETE", `/user/${s.user.id}`, {
      token: s.accessToken,
      body: { password: "not-the-password-1" },
    });
    expect(wrong.body.error.code).toBe("INVALID_CREDENTIALS");
    expect(await rowExists("users", s.user.id)).toBe(true);
    const res = await api("DELETE", `/user/${s.user.id}`, {
      token: s.accessToken,
      body: { password: s.user.password },
    });
    expect(res.status).toBe(200);
    expect(await rowExists("users", s.user.id)).toBe(false);
  });
});

describe("PATCH /me and DELETE /me", () => {
  it("updates the caller's own username at once and makes the new email pending", async () => {
    const s = await registerAndLogin();
    const username = unique("me_");
    const email = `${username}@example.com`;
    const res = await api("PATCH", "/me", {
      token: s.accessToken,
      body: { username, email, currentPassword: s.user.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ id: s.user.id, username, email: s.user.email, pendingEmail: email });
    await waitForEmail(email);
  });

  it("refuses role or status through /me", async () => {
    const s = await registerAndLogin();
    for (const body of [{ role: "admin" }, { status: "active" }]) {
      const res = await api("PATCH", "/me", { token: s.accessToken, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
    }
  });

  it("needs the right password to delete the account", async () => {
    const s = await registerAndLogin();
    const missing = await api("DELETE", "/me", { token: s.accessToken });
    expect(missing.status).toBe(403);
    const wrong = await api("DELETE", "/me", { token: s.accessToken, body: { password: `${STRONG_PASSWORD}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("INVALID_CREDENTIALS");
    expect(await rowExists("users", s.user.id)).toBe(true);
  });

  it("deletes the account with its posts; the token and the login are dead", async () => {
    const s = await registerAndLogin();
    const { postId } = await insertPostWithComment(s.user.id);
    const res = await api("DELETE", "/me", { token: s.accessToken, body: { password: s.user.password } });
    expect(res.status).toBe(200);
    expect((await me(s)).status).toBe(401);
    expect(await rowExists("posts", postId)).toBe(false);
    const relogin = await api("POST", "/login", { body: { email: s.user.email, password: s.user.password } });
    expect(relogin.status).toBe(401);
  });
});

describe("GET and DELETE /me/sessions", () => {
  it("lists only live sessions, marks the current one, and revokes one by id", async () => {
    const first = await registerAndLogin();
    const second = await login(first.user, { headers: { "User-Agent": "second-device/1.0" } });
    const third = await login(first.user);
    await api("POST", "/logout", { token: third.accessToken, body: {} });

    const res = await api("GET", "/me/sessions", { token: first.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    const current = res.body.data.find((s: any) => s.current);
    const other = res.body.data.find((s: any) => !s.current);
    expect(Object.keys(current).sort()).toEqual(
      ["createdAt", "current", "expiresAt", "id", "lastUsedAt", "userAgent"].sort(),
    );
    expect(other.userAgent).toBe("second-device/1.0");
    expect(JSON.stringify(res.body)).not.toMatch(/refresh|hash/i);

    const revoke = await api("DELETE", `/me/sessions/${other.id}`, { token: first.accessToken });
    expect(revoke.status).toBe(200);
    expect((await me(second)).status).toBe(401);
    expect((await me(first)).status).toBe(200);
    expect((await api("GET", "/me/sessions", { token: first.accessToken })).body.data).toHaveLength(1);
    const again = await api("DELETE", `/me/sessions/${other.id}`, { token: first.accessToken });
    expect(again.status).toBe(404);
    expect((await auditRows(first.user.id, "session_revoke")).length).toBe(1);
  });

  it("answers 404 for another user's session and leaves it alive", async () => {
    const [mallory, victim] = await Promise.all([registerAndLogin(), registerAndLogin()]);
    const victimSessions = await api("GET", "/me/sessions", { token: victim.accessToken });
    const res = await api("DELETE", `/me/sessions/${victimSessions.body.data[0].id}`, { token: mallory.accessToken });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
    expect((await me(victim)).status).toBe(200);
    expect((await auditRows(mallory.user.id, "session_revoke")).length).toBe(0);
    expect((await api("DELETE", "/me/sessions/nope", { token: mallory.accessToken })).status).toBe(400);
  });
});

describe("the last active admin", () => {
  let admin: Session;

  beforeAll(async () => {
    admin = await registerAndLogin();
    await makeSoleActiveAdmin(admin.user.id);
  });

  it.each([
    ["demoted", "PATCH", { role: "moderator" }],
    ["suspended", "PATCH", { status: "suspended" }],
    ["deleted", "DELETE", { password: STRONG_PASSWORD }],
  ] as const)("cannot be %s (409 LAST_ADMIN) and nothing is recorded", async (_, method, body) => {
    const res = await api(method, `/user/${admin.user.id}`, { token: admin.accessToken, body });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("LAST_ADMIN");
    expect((await me(admin)).body.data.user).toMatchObject({ role: "admin", status: "active" });
    for (const action of ["role_change", "status_change", "user_delete"]) {
      expect(await auditRows(admin.user.id, action)).toEqual([]);
    }
  });

  it("cannot delete their own account through /me", async () => {
    const res = await api("DELETE", "/me", { token: admin.accessToken, body: { password: admin.user.password } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("LAST_ADMIN");
  });

  it("is not rescued by a suspended admin, who does not count", async () => {
    const dormant = await registerUser();
    await env.DB.prepare("update users set role = 'admin', status = 'suspended' where id = ?").bind(dormant.id).run();
    const res = await api("PATCH", `/user/${admin.user.id}`, { token: admin.accessToken, body: { role: "user" } });
    expect(res.status).toBe(409);
  });

  it("when two admins demote each other at the same moment, exactly one succeeds", async () => {
    const other = await signedInAs("admin");
    const results = await Promise.all([
      api("PATCH", `/user/${other.user.id}`, { token: admin.accessToken, body: { role: "user" } }),
      api("PATCH", `/user/${admin.user.id}`, { token: other.accessToken, body: { role: "user" } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await activeAdminCount()).toBe(1);
    const demoted = results[0].status === 200 ? other : admin;
    expect((await auditRows(demoted.user.id, "role_change")).length).toBe(1);
    // Leave `admin` as the sole admin for the tests after this one.
    await makeSoleActiveAdmin(admin.user.id);
  });

  it("may step down once another active admin exists", async () => {
    const successor = await signedInAs("admin");
    const res = await api("PATCH", `/user/${admin.user.id}`, { token: admin.accessToken, body: { role: "user" } });
    expect(res.status).toBe(200);
    expect(await activeAdminCount()).toBe(1);
    await makeSoleActiveAdmin(successor.user.id);
  });
});
