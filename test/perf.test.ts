import { describe, expect, it } from "vitest";
import { type ApiResponse, api, registerAndLogin, registerUser } from "./support/api";

/** Parses our `Server-Timing: d1;dur=…;desc="N queries, M statements"` entry. */
function d1Usage(res: ApiResponse) {
  const header = res.headers.get("Server-Timing") ?? "";
  const match = /(?:^|,\s*)d1;dur=(\d+(?:\.\d+)?);desc="(\d+) quer(?:y|ies), (\d+) statements?"/.exec(header);
  if (!match) throw new Error(`no d1 Server-Timing entry in ${JSON.stringify(header)}`);
  return { durationMs: Number(match[1]), queries: Number(match[2]), statements: Number(match[3]) };
}

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
    expect(d1Usage(res)).toEqual({ durationMs: 0, queries: 0, statements: 0 });
  });

  it("counts a batch as one query of several statements", async () => {
    // Login: the attempt reservation, then one batch (clear failures, new session, audit).
    const user = await registerUser();
    const res = await api("POST", "/login", { body: { email: user.email, password: user.password } });
    expect(res.status).toBe(200);
    expect(d1Usage(res)).toMatchObject({ queries: 2, statements: 4 });
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
