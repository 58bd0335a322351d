import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import { meRoute } from "../src/auth/routes.defs";
import { ok } from "../src/http/envelope";
import type { ErrorCode } from "../src/http/errors";
import type { AppType } from "../src/index";
import { createRouter } from "../src/openapi/router";
import { getPostRoute } from "../src/posts/routes.defs";
import { findPost } from "../src/posts/service";
import { toPublicUser } from "../src/users/present";
import { randomIp, registerAndLogin, STRONG_PASSWORD, unique } from "./support/api";

/** Hono's typed client, talking to the Worker's real fetch handler instead of the network. */
const client = hc<AppType>("https://api.test", {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    request.headers.set("CF-Connecting-IP", randomIp());
    return exports.default.fetch(request);
  },
});

describe("hc<AppType>() typed client", () => {
  it("registers, logs in and reads /me with typed inputs and outputs", async () => {
    const username = unique("typed_");
    const email = `${username}@example.com`;

    const registered = await client.register.$post({ json: { username, email, password: STRONG_PASSWORD } });
    expect(registered.status).toBe(201);

    const login = await client.login.$post({ json: { email, password: STRONG_PASSWORD } });
    // The client knows every documented answer; narrowing on the status picks the success body.
    if (login.status !== 200) throw new Error(`login answered ${login.status}`);
    const { data } = await login.json();
    // An account with MFA answers an mfaToken instead (POST /login/mfa); this one has none.
    if ("mfaRequired" in data) throw new Error("no MFA on this account");
    expectTypeOf(data.accessToken).toBeString();
    expectTypeOf(data.tokenType).toEqualTypeOf<"Bearer">();

    const me = await client.me.$get({}, { headers: { Authorization: `Bearer ${data.accessToken}` } });
    if (me.status !== 200) throw new Error(`/me answered ${me.status}`);
    const body = await me.json();
    expectTypeOf(body.data.user.emailVerified).toBeBoolean();
    expect(body.data.user).toMatchObject({ username, email, role: "user", emailVerified: false });

    // POST /verify-email takes the emailed token with the account's bearer (N1); this token is not one.
    const verify = await client["verify-email"].$post(
      { json: { token: "x".repeat(43) } },
      { headers: { Authorization: `Bearer ${data.accessToken}` } },
    );
    if (verify.status === 200) throw new Error("a made-up token verified the email");
    if (verify.status === 400) expect((await verify.json()).error.code).toBe("INVALID_TOKEN");
    expect(verify.status).toBe(400);
  });

  it("types path params and query strings from the validators", async () => {
    const login = await client.login.$post({ json: { email: "nobody@example.com", password: STRONG_PASSWORD } });
    expect(login.status).toBe(401);
    // Failure bodies are typed too, with the codes the route documents.
    if (login.status === 401) {
      const failure = await login.json();
      expectTypeOf(failure.error.code).toEqualTypeOf<ErrorCode>();
      expect(failure.error.code).toBe("INVALID_CREDENTIALS");
    }
    // Compiles only because `:id` and the posts query are typed; the calls themselves are unauthenticated.
    const post = await client.posts[":id"].$get({ param: { id: crypto.randomUUID() } });
    const list = await client.posts.$get({ query: { page: "1", limit: "5" } });
    expect([post.status, list.status]).toEqual([401, 401]);
    // The keyset cursor is a typed query parameter, and `meta.nextCursor` a typed field of every list.
    const next = await client.posts.$get({ query: { limit: "5", cursor: "not-a-cursor" } });
    expect(next.status).toBe(401);
    if (next.status === 200) expectTypeOf((await next.json()).meta.nextCursor).toEqualTypeOf<string | null>();
  });

  it("types the second factor: POST /login/mfa answers tokens or a typed MFA error", async () => {
    const res = await client.login.mfa.$post({ json: { mfaToken: "not-a-real-token", code: "123456" } });
    expect(res.status).toBe(401);
    if (res.status === 401) {
      const failure = await res.json();
      expectTypeOf(failure.error.code).toEqualTypeOf<ErrorCode>();
      expect(failure.error.code).toBe("INVALID_MFA_TOKEN");
    }
    if (res.status === 200) expectTypeOf((await res.json()).data.accessToken).toBeString();
  });

  it("types email codes: POST /login/email-code, then /login/email-code/verify answers tokens, mfaRequired or a typed error", async () => {
    const email = `${unique("typed_")}@example.com`;
    const asked = await client.login["email-code"].$post({ json: { email } });
    expect(asked.status).toBe(200);
    const res = await client.login["email-code"].verify.$post({ json: { email, code: "123456" } });
    expect(res.status).toBe(401);
    if (res.status === 401) {
      const failure = await res.json();
      expectTypeOf(failure.error.code).toEqualTypeOf<ErrorCode>();
      expect(failure.error.code).toBe("INVALID_EMAIL_CODE");
    }
    if (res.status === 200) {
      const { data } = await res.json();
      if (!("mfaRequired" in data)) expectTypeOf(data.accessToken).toBeString();
    }
  });

  it("types social sign-in: the provider list, and POST /oauth/token's typed failure", async () => {
    // Without OAUTH_PROVIDERS (the test default) the list is empty, but its items are typed for the SPA's buttons.
    const providers = await client.oauth.providers.$get();
    if (providers.status !== 200) throw new Error(`/oauth/providers answered ${providers.status}`);
    const { data } = await providers.json();
    expectTypeOf(data[0]?.type).toEqualTypeOf<"github" | "google" | "oidc" | undefined>();
    expect(data).toEqual([]);

    const redeemed = await client.oauth.token.$post({ json: { code: "made-up", codeVerifier: "x".repeat(43) } });
    expect(redeemed.status).toBe(401);
    if (redeemed.status === 401) expect((await redeemed.json()).error.code).toBe("INVALID_LOGIN_CODE");
    if (redeemed.status === 200) {
      const answer = (await redeemed.json()).data;
      if (!("mfaRequired" in answer)) expectTypeOf(answer.accessToken).toBeString();
    }
    // Path params are typed too (compiles only because `:provider` is declared).
    const native = await client.oauth[":provider"]["id-token"].$post({
      param: { provider: "acme" },
      json: { idToken: "not-a-token" },
    });
    expect(native.status).toBe(404);

    // Finishing a link: typed body, and the identity typed in the 201 answer.
    const session = await registerAndLogin();
    const link = await client.me.identities.$post(
      { json: { code: "made-up", codeVerifier: "x".repeat(43) } },
      { headers: { Authorization: `Bearer ${session.accessToken}` } },
    );
    expect(link.status).toBe(401);
    if (link.status === 401) expect((await link.json()).error.code).toBe("INVALID_LOGIN_CODE");
    if (link.status === 201) expectTypeOf((await link.json()).data.identity.provider).toBeString();
  });

  it("types the passkey routes: login options, then a typed login answer or error", async () => {
    const options = await client.passkeys.login.options.$post({ json: {} });
    if (options.status !== 200) throw new Error(`passkey options answered ${options.status}`);
    const { data } = await options.json();
    expectTypeOf(data.challengeId).toBeString();
    const response = {
      id: "AAAA",
      rawId: "AAAA",
      type: "public-key" as const,
      response: { clientDataJSON: "AAAA", authenticatorData: "AAAA", signature: "AAAA" },
    };
    const login = await client.passkeys.login.$post({ json: { challengeId: data.challengeId, response } });
    expect(login.status).toBe(401);
    if (login.status === 401) {
      const failure = await login.json();
      expectTypeOf(failure.error.code).toEqualTypeOf<ErrorCode>();
      expect(failure.error.code).toBe("INVALID_CREDENTIALS");
    }
    if (login.status === 200) expectTypeOf((await login.json()).data.accessToken).toBeString();
    // Compiles only because `:id` is typed; unauthenticated, so 401.
    const rename = await client.me.passkeys[":id"].$patch({ param: { id: "AAAA" }, json: { name: "Phone" } });
    expect(rename.status).toBe(401);
  });

  it("asks for and sends a step-up email code with typed routes", async () => {
    const asked = await client.me.reauthenticate["email-code"].$post();
    expect(asked.status).toBe(401);
    if (asked.status === 200) expectTypeOf((await asked.json()).data.expiresIn).toBeNumber();
    // Compiles only because `emailCode` is a member of the typed body union; unauthenticated, so 401.
    const proven = await client.me.reauthenticate.$post({ json: { emailCode: "123456" } });
    expect(proven.status).toBe(401);
  });

  it("changes the password and types the new token pair it answers with (L2)", async () => {
    const session = await registerAndLogin();
    const changed = await client.me.password.$post(
      { json: { currentPassword: STRONG_PASSWORD, newPassword: "typed-change-phrase-64" } },
      { headers: { Authorization: `Bearer ${session.accessToken}` } },
    );
    if (changed.status !== 200) throw new Error(`POST /me/password answered ${changed.status}`);
    const { data } = await changed.json();
    expectTypeOf(data.refreshToken).toBeString();
    expectTypeOf(data.tokenType).toEqualTypeOf<"Bearer">();
    const me = await client.me.$get({}, { headers: { Authorization: `Bearer ${data.accessToken}` } });
    expect(me.status).toBe(200);
  });

  it("refuses at compile time a body field the schema does not have", () => {
    // The call is only type-checked (`npm run typecheck`), never sent.
    const send = () =>
      client.login.$post({
        // @ts-expect-error `role` is not part of the login body
        json: { email: "a@example.com", password: STRONG_PASSWORD, role: "admin" },
      });
    expectTypeOf(send).toBeFunction();
  });
});

describe("route declarations type their handlers", () => {
  // Only type-checked (`npm run typecheck`): the router is never mounted.
  const router = createRouter();

  it("refuses an answer the route does not declare", () => {
    // @ts-expect-error the guard's database row is not the declared `User` (no `emailVerified`, and it has the hash)
    router.openapi(meRoute, (c) => ok(c, "Current user", { user: c.var.user }));
    // @ts-expect-error GET /me declares 200, not 201
    router.openapi(meRoute, (c) => ok(c, "Current user", { user: toPublicUser(c.var.user) }, { status: 201 }));
    router.openapi(meRoute, (c) => ok(c, "Current user", { user: toPublicUser(c.var.user), hasPassword: true }));
  });

  it("types validated input from the declared schemas", () => {
    router.openapi(getPostRoute, async (c) => {
      expectTypeOf(c.req.valid("param").id).toBeString();
      // @ts-expect-error GET /posts/{id} declares no body
      c.req.valid("json");
      return ok(c, "Post", { post: await findPost(c.var.db, c.req.valid("param").id) });
    });
  });
});
