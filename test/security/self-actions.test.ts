import { describe, expect, it } from "vitest";
import { type ApiResponse, api, login, randomIp, registerAndLogin, type Session, unique } from "../support/api";
import { detailPaths } from "../support/expect-failure";
import { rowExists, signedInAs } from "../support/roles";

/**
 * Issue #11 item 4: an alias is never weaker. Every action a user can take on
 * their own account is listed here with each route that reaches it (`/me…`
 * and `/user/:ownId`); each route must demand exactly the same proof and
 * answer exactly the same way.
 */

type Send = (s: Session, body: Record<string, unknown>) => Promise<ApiResponse>;
type Route = [name: string, send: Send];

const WRONG = "not-the-password-1";
const byId =
  (method: string): Send =>
  (s, body) =>
    api(method, `/user/${s.user.id}`, { token: s.accessToken, body });
const onMe =
  (method: string): Send =>
  (s, body) =>
    api(method, "/me", { token: s.accessToken, body });
/** PUT replaces the profile, so it always carries the username. */
const putById: Send = (s, body) =>
  api("PUT", `/user/${s.user.id}`, { token: s.accessToken, body: { username: s.user.username, ...body } });

type SelfAction = {
  action: string;
  routes: Route[];
  /** The fields of the action itself. */
  body: (s: Session) => Record<string, unknown>;
  /** The field carrying the proof, or null when the action needs none. */
  proof: "currentPassword" | "password" | null;
};

const SELF_ACTIONS: SelfAction[] = [
  {
    action: "change the email",
    routes: [
      ["PATCH /me", onMe("PATCH")],
      ["PATCH /user/:ownId", byId("PATCH")],
      ["PUT /user/:ownId", putById],
    ],
    body: () => ({ email: `${unique("self_")}@example.com` }),
    proof: "currentPassword",
  },
  {
    action: "delete the account",
    routes: [
      ["DELETE /me", onMe("DELETE")],
      ["DELETE /user/:ownId", byId("DELETE")],
    ],
    body: () => ({}),
    proof: "password",
  },
  {
    action: "change the username",
    routes: [
      ["PATCH /me", onMe("PATCH")],
      ["PATCH /user/:ownId", byId("PATCH")],
    ],
    body: () => ({ username: unique("self_") }),
    proof: null,
  },
];

/** What a client can tell apart in an answer. */
const outcome = (res: ApiResponse) => ({ status: res.status, code: res.body?.error?.code, paths: detailPaths(res) });

/** Runs one attempt on a fresh account, so attempts on different routes cannot affect each other. */
async function attempt(send: Send, body: (s: Session) => Record<string, unknown>, proof: (s: Session) => object) {
  const s = await registerAndLogin();
  return outcome(await send(s, { ...body(s), ...proof(s) }));
}

describe("every self-action demands the same proof on /me and on /user/:ownId", () => {
  for (const { action, routes, body, proof } of SELF_ACTIONS) {
    it(`${action}: ${routes.map(([name]) => name).join(", ")}`, async () => {
      const tries = proof
        ? { none: () => ({}), wrong: () => ({ [proof]: WRONG }), right: (s: Session) => ({ [proof]: s.user.password }) }
        : { none: () => ({}) };
      for (const [label, withProof] of Object.entries(tries)) {
        const seen = await Promise.all(routes.map(([, send]) => attempt(send, body, withProof)));
        // The same answer on every route…
        for (const other of seen.slice(1)) expect({ label, ...other }).toEqual({ label, ...seen[0] });
        // …and the right one.
        const expected =
          !proof || label === "right"
            ? { status: 200, code: undefined, paths: [] }
            : label === "none"
              ? { status: 403, code: "REAUTHENTICATION_REQUIRED", paths: [] }
              : { status: 401, code: "INVALID_CREDENTIALS", paths: [] };
        expect({ label, ...seen[0] }).toEqual({ label, ...expected });
      }
    });
  }

  it("an admin acting on their own id is held to the /me rules, not the admin ones", async () => {
    const admin = await signedInAs("admin");
    const email = await api("PATCH", `/user/${admin.user.id}`, {
      token: admin.accessToken,
      body: { email: `${unique("self_")}@example.com` },
    });
    expect(outcome(email)).toEqual({ status: 403, code: "REAUTHENTICATION_REQUIRED", paths: [] });
    const bare = await api("DELETE", `/user/${admin.user.id}`, { token: admin.accessToken });
    expect(outcome(bare)).toEqual({ status: 403, code: "REAUTHENTICATION_REQUIRED", paths: [] });
    expect(await rowExists("users", admin.user.id)).toBe(true);
  });

  it("reading oneself: GET /me and GET /user/:ownId show the same user", async () => {
    const s = await registerAndLogin();
    const [viaMe, viaId] = await Promise.all([
      api("GET", "/me", { token: s.accessToken }),
      api("GET", `/user/${s.user.id}`, { token: s.accessToken }),
    ]);
    expect(viaMe.status).toBe(200);
    // /me also says whether the caller has a password (`hasPassword`, for its own sign-in settings).
    expect(viaId.body.data).toEqual({ user: viaMe.body.data.user });
  });

  it("DELETE /user/:ownId shares DELETE /me's rate limit: once /me is refused, so is the alias", async () => {
    let s = await registerAndLogin();
    let res: ApiResponse | undefined;
    // Up to two windows' worth, in case the clock-aligned window rolls over mid-test. Five wrong
    // proofs revoke a session, so a fresh one is signed in every four (which also clears the slow-down).
    for (let i = 0; i < 21 && res?.status !== 429; i++) {
      if (i % 4 === 0) s = await login(s.user, { ip: randomIp() });
      res = await api("DELETE", "/me", { token: s.accessToken, body: { password: WRONG }, ip: randomIp() });
    }
    expect(res?.status).toBe(429);
    s = await login(s.user, { ip: randomIp() });
    const alias = await api("DELETE", `/user/${s.user.id}`, {
      token: s.accessToken,
      body: { password: s.user.password },
      ip: randomIp(),
    });
    expect(alias.status).toBe(429);
    expect(await rowExists("users", s.user.id)).toBe(true);
  });
});
