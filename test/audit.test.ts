import { beforeAll, describe, expect, it } from "vitest";
import { api, registerAndLogin, type Session } from "./support/api";
import { signedInAs } from "./support/roles";

describe("GET /audit", () => {
  let admin: Session;
  let target: Session;
  const adminIp = "203.0.113.7";

  beforeAll(async () => {
    admin = await signedInAs("admin");
    target = await registerAndLogin();
    await api("POST", "/login", { body: { email: target.user.email, password: "wrong-password-123" } });
    const patch = (body: object) =>
      api("PATCH", `/user/${target.user.id}`, { token: admin.accessToken, ip: adminIp, body });
    await patch({ role: "moderator" });
    await patch({ status: "suspended" });
    await patch({ status: "active" });
  });

  const audit = (query: string, session = admin) => api("GET", `/audit?${query}`, { token: session.accessToken });

  it("is for admins only", async () => {
    for (const role of ["user", "moderator"] as const) {
      const res = await audit("", await signedInAs(role));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect((await api("GET", "/audit")).status).toBe(401);
  });

  it("records role and status changes with actor, target, IP and time, newest first", async () => {
    const res = await audit(`userId=${target.user.id}&limit=100`);
    expect(res.status).toBe(200);
    const changes = res.body.data.filter((e: any) => e.actorId === admin.user.id);
    expect(changes.map((e: any) => [e.action, e.details])).toEqual([
      ["status_change", { from: "suspended", to: "active" }],
      ["status_change", { from: "active", to: "suspended" }],
      ["role_change", { from: "user", to: "moderator" }],
    ]);
    for (const e of changes) {
      expect(e).toMatchObject({ targetId: target.user.id, ip: adminIp });
      expect(new Date(e.createdAt).toISOString()).toBe(e.createdAt);
    }
  });

  it("filters by userId as actor or target, and by action", async () => {
    const byTarget = await audit(`userId=${target.user.id}&limit=100`);
    const actions = byTarget.body.data.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["login_success", "login_failure", "role_change"]));
    expect(byTarget.body.data.every((e: any) => e.actorId === target.user.id || e.targetId === target.user.id)).toBe(
      true,
    );

    const byActor = await audit(`userId=${admin.user.id}&action=role_change`);
    expect(byActor.body.data).toHaveLength(1);
    expect(byActor.body.data[0]).toMatchObject({ actorId: admin.user.id, targetId: target.user.id });
    expect(byActor.body.meta).toEqual({ page: 1, limit: 20, total: 1, totalPages: 1, nextCursor: null });

    const failures = await audit(`userId=${target.user.id}&action=login_failure`);
    expect(failures.body.data.map((e: any) => e.action)).toEqual(["login_failure"]);
    expect(JSON.stringify(failures.body)).not.toContain("wrong-password-123");
  });

  it("paginates, with an empty page past the end", async () => {
    const first = await audit(`userId=${target.user.id}&action=status_change&limit=1`);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.meta).toEqual({ page: 1, limit: 1, total: 2, totalPages: 2, nextCursor: expect.any(String) });
    const second = await audit(`userId=${target.user.id}&action=status_change&limit=1&page=2`);
    expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
    const past = await audit(`userId=${target.user.id}&action=status_change&limit=1&page=3`);
    expect(past.body.data).toEqual([]);
    expect(past.body.meta.total).toBe(2);
  });

  it.each([
    ["userId=42", "userId"],
    ["action=DROP%20TABLE", "action"],
    ["limit=101", "limit"],
    ["limit=0", "limit"],
    ["actorId=x", "actorId"],
  ])("rejects %s with 400", async (query, path) => {
    const res = await audit(query);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
  });
});
