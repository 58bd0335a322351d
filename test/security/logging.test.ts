import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from "vitest";
import { type ApiResponse, type CallOptions, unique } from "../support/api";
import { tokenFrom, waitForEmail, waitForToken } from "../support/mailbox";
import { settled } from "../support/settled";

/*
 * The Worker runs in the same isolate as the tests, so spying on the console
 * sees every line it logs. A whole account's life runs once (register,
 * verify, login, refresh, forgot and reset, change password, logout, and a
 * few refused requests); then no captured line may contain a password, a
 * token or a secret, and every request must have produced exactly one
 * structured line about itself.
 */

const METHODS = ["log", "info", "warn", "error", "debug"] as const;
let spies: MockInstance[] = [];
// Collected by the spies themselves: Vitest clears `mock.calls` before each test.
const lines: string[] = [];
const captured = () => lines;

const secrets = new Map<string, string>();
const keep = (name: string, value: string) => {
  secrets.set(name, value);
  return value;
};
const sent: { id: string; method: string; path: string; res: ApiResponse }[] = [];

/** A request with a known request id, so its log line can be found. */
async function send(method: string, pathAndQuery: string, options: CallOptions = {}) {
  const id = `log-test-${sent.length}-${unique()}`;
  const res = await settled(method, pathAndQuery, { ...options, headers: { ...options.headers, "X-Request-Id": id } });
  sent.push({ id, method, path: pathAndQuery.split("?")[0] ?? "", res });
  return res;
}

beforeAll(async () => {
  spies = METHODS.map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    }),
  );
  keep("JWT_SECRET", env.JWT_SECRET);
  keep("MAIL_API_KEY", env.MAIL_API_KEY);
  const username = unique("log_");
  const email = `${username}@example.com`;
  const first = keep("first password", "first-Harbor-lantern-71");
  const second = keep("reset password", "second-Quartz-meadow-52");
  const third = keep("changed password", "third-Violet-compass-33");

  expect((await send("POST", "/register", { body: { username, email, password: first } })).status).toBe(201);
  const verifyToken = keep("verification token", tokenFrom(await waitForEmail(email)));
  expect((await send("GET", `/verify-email?token=${verifyToken}`)).status).toBe(200);

  const login = (await send("POST", "/login", { body: { email, password: first } })).body.data;
  keep("access token 1", login.accessToken);
  keep("refresh token 1", login.refreshToken);
  const verified = await send("POST", "/verify-email", { token: login.accessToken, body: { token: verifyToken } });
  expect(verified.status).toBe(200);
  expect((await send("GET", "/me", { token: login.accessToken })).status).toBe(200);
  const refreshed = (await send("POST", "/refresh", { body: { refreshToken: login.refreshToken } })).body.data;
  keep("access token 2", refreshed.accessToken);
  keep("refresh token 2", refreshed.refreshToken);

  expect((await send("POST", "/forgot-password", { body: { email } })).status).toBe(200);
  const resetToken = keep("reset token", await waitForToken(email, "/reset-password"));
  expect((await send("GET", `/reset-password?token=${resetToken}`)).status).toBe(200);
  expect((await send("POST", "/reset-password", { body: { token: resetToken, password: second } })).status).toBe(200);

  const again = (await send("POST", "/login", { body: { email, password: second } })).body.data;
  keep("access token 3", again.accessToken);
  keep("refresh token 3", again.refreshToken);
  const change = { currentPassword: second, newPassword: third };
  const changed = await send("POST", "/me/password", { token: again.accessToken, body: change });
  expect(changed.status).toBe(200);
  // The change replaces the session (L2): its new tokens are secrets too, and the old ones are dead.
  const rotated = changed.body.data;
  keep("access token 4", rotated.accessToken);
  keep("refresh token 4", rotated.refreshToken);

  // Refusals that carry secrets in what was sent.
  expect((await send("POST", "/login", { body: { email, password: first } })).status).toBe(401);
  expect((await send("POST", "/refresh", { body: { refreshToken: login.refreshToken } })).status).toBe(401);
  expect((await send("POST", "/reset-password", { body: { token: resetToken, password: third } })).status).toBe(400);
  expect((await send("GET", "/me", { token: login.accessToken })).status).toBe(401);
  const badJson = `{"email":"${email}","password":"${first}"`;
  const invalid = await send("POST", "/login", { rawBody: badJson, headers: { "Content-Type": "application/json" } });
  expect(invalid.status).toBe(400);
  expect((await send("GET", `/nowhere?token=${resetToken}`)).status).toBe(404);

  const logout = { refreshToken: rotated.refreshToken, all: true };
  expect((await send("POST", "/logout", { token: rotated.accessToken, body: logout })).status).toBe(200);
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

describe("logs", () => {
  it("contain no password, token or secret, whole or as a JWT signature", () => {
    const lines = captured();
    expect(lines.length).toBeGreaterThanOrEqual(sent.length);
    const needles = [...secrets].flatMap(([name, value]) => {
      const signature = /^[\w-]+\.[\w-]+\.([\w-]+)$/.exec(value)?.[1];
      return signature ? [[name, value] as const, [`${name} signature`, signature] as const] : [[name, value] as const];
    });
    for (const line of lines) {
      for (const [name, value] of needles) expect(line.includes(value), `${name} in ${line}`).toBe(false);
    }
  });

  it("are one JSON object a line", () => {
    for (const line of captured()) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it("have exactly one line per request with its id, method, path without query, status and duration", () => {
    const lines = captured().map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const { id, method, path, res } of sent) {
      const own = lines.filter((l) => l.requestId === id && "status" in l);
      expect(own, `${method} ${path}`).toHaveLength(1);
      expect(own[0]).toMatchObject({ level: "info", method, path, status: res.status });
      expect(own[0]?.durationMs).toBeTypeOf("number");
      expect(own[0]?.durationMs as number).toBeGreaterThanOrEqual(0);
    }
  });

  it("name the signed-in user on authenticated requests", () => {
    const lines = captured().map((line) => JSON.parse(line) as Record<string, unknown>);
    const me = sent.find((r) => r.path === "/me" && r.res.status === 200);
    const line = lines.find((l) => l.requestId === me?.id && "status" in l);
    expect(line?.userId).toBe(me?.res.body.data.user.id);
  });
});
