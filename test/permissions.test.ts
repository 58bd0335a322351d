import { beforeAll, describe, expect, it } from "vitest";
import { type Action, can, PERMISSIONS } from "../src/auth/permissions";
import { type ApiResponse, api, registerUser, type Session, setRole, type TestUser, unique } from "./support/api";
import { type Role, signedInAs } from "./support/roles";

const ROLES: Role[] = ["user", "moderator", "admin"];

describe("the permission table", () => {
  // The contract's table (API.md, "Roles and permissions"), row by row: user, moderator, admin.
  const contract: [string, Action, [boolean, boolean, boolean]][] = [
    ["read posts and comments", "content:read", [true, true, true]],
    ["create posts and comments", "content:create", [true, true, true]],
    ["edit / delete own posts and comments", "content:modify-own", [true, true, true]],
    ["edit / delete anyone's posts and comments", "content:modify-any", [false, true, true]],
    ["read another user's profile", "users:read-any", [false, true, true]],
    ["list and search users", "users:list", [false, true, true]],
    ["edit another user, change role or status, delete another user", "users:manage", [false, false, true]],
    ["read the audit trail", "audit:read", [false, false, true]],
  ];

  it.each(contract)("%s", (_, action, expected) => {
    expect(ROLES.map((role) => can(role, action))).toEqual(expected);
  });

  it("has no action the contract does not list", () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual(contract.map(([, action]) => action).sort());
  });
});

type Call = (actor: Session, target: TestUser) => Promise<ApiResponse>;
type Row = [name: string, call: Call, expected: Record<Role, number>];

const freshName = () => unique("perm_");
const as = (actor: Session) => ({ token: actor.accessToken });
const everyone = { user: 200, moderator: 200, admin: 200 };
const staffOnly = { user: 403, moderator: 200, admin: 200 };
const adminOnly = { user: 403, moderator: 403, admin: 200 };

/** Each row runs for each role with a fresh actor and a fresh other user, so destructive rows do not interfere. */
const rows: Row[] = [
  ["GET /users", (a) => api("GET", "/users", as(a)), staffOnly],
  ["GET /user/:id of another user", (a, t) => api("GET", `/user/${t.id}`, as(a)), staffOnly],
  [
    "PUT /user/:id of another user",
    (a, t) => api("PUT", `/user/${t.id}`, { ...as(a), body: { username: freshName(), email: t.email } }),
    adminOnly,
  ],
  [
    "PATCH /user/:id username of another user",
    (a, t) => api("PATCH", `/user/${t.id}`, { ...as(a), body: { username: freshName() } }),
    adminOnly,
  ],
  [
    "PATCH /user/:id role of another user",
    (a, t) => api("PATCH", `/user/${t.id}`, { ...as(a), body: { role: "moderator" } }),
    adminOnly,
  ],
  [
    "PATCH /user/:id status of another user",
    (a, t) => api("PATCH", `/user/${t.id}`, { ...as(a), body: { status: "suspended" } }),
    adminOnly,
  ],
  ["DELETE /user/:id of another user", (a, t) => api("DELETE", `/user/${t.id}`, as(a)), adminOnly],
  ["GET /audit", (a) => api("GET", "/audit", as(a)), adminOnly],
  ["GET /user/:id of self", (a) => api("GET", `/user/${a.user.id}`, as(a)), everyone],
  [
    "PUT /user/:id of self",
    (a) => api("PUT", `/user/${a.user.id}`, { ...as(a), body: { username: freshName(), email: a.user.email } }),
    everyone,
  ],
  [
    "PATCH /user/:id username of self",
    (a) => api("PATCH", `/user/${a.user.id}`, { ...as(a), body: { username: freshName() } }),
    everyone,
  ],
  [
    "PATCH /user/:id role of self (to admin)",
    (a) => api("PATCH", `/user/${a.user.id}`, { ...as(a), body: { role: "admin" } }),
    adminOnly,
  ],
  [
    "PATCH /user/:id status of self (to active)",
    (a) => api("PATCH", `/user/${a.user.id}`, { ...as(a), body: { status: "active" } }),
    adminOnly,
  ],
  [
    "DELETE /user/:id of self",
    (a) => api("DELETE", `/user/${a.user.id}`, { ...as(a), body: { password: a.user.password } }),
    everyone,
  ],
  ["PATCH /me", (a) => api("PATCH", "/me", { ...as(a), body: { username: freshName() } }), everyone],
  ["DELETE /me", (a) => api("DELETE", "/me", { ...as(a), body: { password: a.user.password } }), everyone],
  ["GET /me/sessions", (a) => api("GET", "/me/sessions", as(a)), everyone],
];

describe("every users endpoint, for every role", () => {
  beforeAll(async () => {
    // Another active admin, so an admin deleting or editing themselves is never the last one.
    await signedInAs("admin");
  });

  const matrix = rows.flatMap(([name, call, expected]) =>
    ROLES.map((role) => [name, role, call, expected[role]] as const),
  );

  it.each(matrix)("%s as %s", async (_, role, call, status) => {
    const [actor, target] = await Promise.all([signedInAs(role), registerUser()]);
    const res = await call(actor, target);
    expect(res.status).toBe(status);
    if (status === 403) expect(res.body.error.code).toBe("FORBIDDEN");
  });
});

describe("without a valid token", () => {
  const endpoints: [string, string][] = [
    ["GET", "/users"],
    ["GET", "/user/00000000-0000-4000-8000-000000000000"],
    ["PUT", "/user/00000000-0000-4000-8000-000000000000"],
    ["PATCH", "/user/00000000-0000-4000-8000-000000000000"],
    ["DELETE", "/user/00000000-0000-4000-8000-000000000000"],
    ["PATCH", "/me"],
    ["DELETE", "/me"],
    ["GET", "/me/sessions"],
    ["DELETE", "/me/sessions/00000000-0000-4000-8000-000000000000"],
    ["GET", "/audit"],
  ];

  it.each(endpoints)("%s %s answers 401 with WWW-Authenticate", async (method, path) => {
    for (const token of [undefined, "not.a.jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]) {
      const res = await api(method, path, { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
      expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    }
  });
});

describe("roles come from the database on every request", () => {
  it("a demoted admin's existing token loses admin access at once", async () => {
    const admin = await signedInAs("admin");
    expect((await api("GET", "/audit", as(admin))).status).toBe(200);
    await setRole(admin.user.id, "user");
    expect((await api("GET", "/audit", as(admin))).status).toBe(403);
    expect((await api("GET", "/users", as(admin))).status).toBe(403);
  });

  it("a promoted user's existing token gains moderator access at once", async () => {
    const s = await signedInAs("user");
    expect((await api("GET", "/users", as(s))).status).toBe(403);
    await setRole(s.user.id, "moderator");
    expect((await api("GET", "/users", as(s))).status).toBe(200);
    expect((await api("DELETE", `/user/${(await registerUser()).id}`, as(s))).status).toBe(403);
  });
});
