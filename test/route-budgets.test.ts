import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import {
  type ApiResponse,
  api,
  type CallOptions,
  login,
  registerAndLogin,
  registerUser,
  registerVerifiedAndLogin,
  type Session,
  unique,
} from "./support/api";
import { SoftwareAuthenticator } from "./support/authenticator";
import { d1Rows, d1Timing } from "./support/d1-usage";
import { emailsTo, tokenFrom, waitForEmail } from "./support/mailbox";
import { codeNow, enrolled } from "./support/mfa-api";
import { claims, consentAt, mintIdToken, pkcePair, SPA, TEST_OAUTH_PROVIDERS } from "./support/oauth";
import { addPasskey, signedAssertion } from "./support/passkey-api";
import { ORIGIN } from "./support/passkeys";
import { signedInAs } from "./support/roles";
import { settled } from "./support/settled";
import { base32Decode } from "./support/totp";

/**
 * The D1 cost of every route, in one table: round trips (exact) and D1 rows
 * read and written (upper bounds), as the Worker reports them in
 * `Server-Timing`. A route the app serves that is missing here fails the
 * first test, so a new route cannot ship without its budget.
 *
 * Requests go through the real app with `SERVER_TIMING_ROWS=all`, so routes
 * used before sign-in report their rows too (by default they do not; see the
 * last describe block).
 */
const ROWS_EVERYWHERE = { SERVER_TIMING_ROWS: "all" };
const call = (method: string, path: string, options: CallOptions = {}) =>
  settled(method, path, { ...options, bindings: ROWS_EVERYWHERE });

type Fixtures = {
  user: Session;
  admin: Session;
  postId: string;
  commentId: string;
};

type Budget = {
  status: number;
  /** D1 round trips, exact (a batch is one). */
  queries: number;
  /** Upper bounds on D1 rows read and written (read may depend on the data, for what is not yet counted). */
  read: number | (() => Promise<number>);
  written: number;
  send: (f: Fixtures) => Promise<ApiResponse>;
};

/** Lists are measured at this page size: a page costs about `LIMIT` rows plus a constant. */
const LIMIT = 20;
/**
 * Rows D1 counts per listed item: the id's index entry, the row, the author's
 * row, and the seeks between them. A constant: never a count of what is not
 * on the page.
 */
const PER_ITEM = 5;

/** The audit list's total is still a count(*) of the whole trail (no counter yet), so its rows grow with it. */
const auditEvents = async () =>
  (await env.DB.prepare("select count(*) as n from audit_events").first<{ n: number }>())?.n ?? 0;

const fresh = () => registerAndLogin();
/** Passkeys, TOTP and identity links attach only to verified accounts. */
const freshVerified = () => registerVerifiedAndLogin();

/** Social sign-in: the local provider configured, the SPA's origin allowed. */
const OAUTH = { OAUTH_PROVIDERS: TEST_OAUTH_PROVIDERS, CORS_ORIGINS: SPA };
const oauthCall = (method: string, path: string, options: CallOptions = {}) =>
  settled(method, path, { ...options, bindings: { ...ROWS_EVERYWHERE, ...OAUTH } });
const authorizeQuery = (challenge: string) =>
  new URLSearchParams({ redirect_uri: `${SPA}/done`, code_challenge: challenge, code_challenge_method: "S256" });
/** A browser sign-up at the local provider up to our callback: the callback's query and the SPA's verifier. */
async function atCallback() {
  const spa = await pkcePair();
  const start = await settled("GET", `/oauth/acme/authorize?${authorizeQuery(spa.challenge)}`, { bindings: OAUTH });
  const back = await consentAt(start.headers.get("location") ?? "", { sub: unique("sub-") });
  return { query: new URLSearchParams(back.params), spa };
}
/** A password account that started a link flow, back from the provider: the link code and the SPA's verifier. */
async function atLinkCode() {
  const s = await freshVerified();
  const spa = await pkcePair();
  const body = { redirectUri: `${SPA}/done`, codeChallenge: spa.challenge, currentPassword: s.user.password };
  const started = await settled("POST", "/me/identities/acme", { token: s.accessToken, body, bindings: OAUTH });
  const back = await consentAt(started.body.data.authorizeUrl, { sub: unique("sub-") });
  const landed = await settled("GET", `/oauth/acme/callback?${new URLSearchParams(back.params)}`, { bindings: OAUTH });
  const code = new URL(landed.headers.get("location") ?? "").searchParams.get("code");
  return { s, code, spa };
}
/** A password account with one linked identity, after a recent re-authentication. */
async function withIdentity() {
  const { s, code, spa } = await atLinkCode();
  await settled("POST", "/me/identities", {
    token: s.accessToken,
    body: { code, codeVerifier: spa.verifier },
    bindings: OAUTH,
  });
  const list = await settled("GET", "/me/identities", { token: s.accessToken, bindings: OAUTH });
  return { s, identityId: list.body.data[0].id as string };
}
const json = (token: string, body?: unknown): CallOptions => ({ token, body });

/** The route table: `METHOD /path` as the app declares it → its budget and one request that exercises it. */
const BUDGETS: Record<string, Budget> = {
  "GET /": { status: 200, queries: 0, read: 0, written: 0, send: () => call("GET", "/") },
  "GET /health": { status: 200, queries: 1, read: 0, written: 0, send: () => call("GET", "/health") },

  // Before sign-in.
  "POST /register": {
    status: 201,
    queries: 1,
    read: 2,
    written: 7,
    send: () => {
      const username = unique("user_");
      return call("POST", "/register", {
        body: { username, email: `${username}@example.com`, password: "correct-horse-battery-9" },
      });
    },
  },
  "POST /login": {
    status: 200,
    queries: 2,
    read: 20,
    written: 20,
    send: async () => {
      const { email, password } = await registerUser();
      return call("POST", "/login", { body: { email, password } });
    },
  },
  "POST /login/email-code": {
    status: 200,
    queries: 2,
    read: 4,
    written: 6,
    send: async () => call("POST", "/login/email-code", { body: { email: (await registerUser()).email } }),
  },
  "POST /login/email-code/verify": {
    status: 200,
    queries: 2,
    read: 37,
    written: 28,
    send: async () => {
      // An unverified account: the sign-in also takes it back (the most writes this route makes).
      const { email } = await registerUser();
      await call("POST", "/login/email-code", { body: { email } });
      const mail = (await emailsTo(email)).find((m) => m.subject === "Your sign-in code");
      const code = /sign-in code is (\d{6})\./.exec(mail?.text ?? "")?.[1];
      return call("POST", "/login/email-code/verify", { body: { email, code } });
    },
  },
  "POST /refresh": {
    status: 200,
    queries: 1,
    read: 5,
    written: 3,
    send: async () => call("POST", "/refresh", { body: { refreshToken: (await fresh()).refreshToken } }),
  },
  "POST /forgot-password": {
    status: 200,
    queries: 2,
    read: 2,
    written: 2,
    send: async () => call("POST", "/forgot-password", { body: { email: (await registerUser()).email } }),
  },
  "GET /reset-password": {
    status: 200,
    queries: 0,
    read: 0,
    written: 0,
    send: () => call("GET", "/reset-password?token=abc"),
  },
  "POST /reset-password": {
    status: 200,
    queries: 2,
    read: 6,
    written: 13,
    send: async () => {
      // An unverified account: the reset also takes it back (the most writes this route makes).
      const { email } = await registerUser();
      await api("POST", "/forgot-password", { body: { email } });
      // The verification email of the registration and the reset email, in either order.
      await waitForEmail(email, 2);
      const reset = (await emailsTo(email)).find((m) => m.subject === "Reset your password");
      if (!reset) throw new Error("no reset email");
      return call("POST", "/reset-password", {
        body: { token: tokenFrom(reset), password: "another-horse-battery-7" },
      });
    },
  },
  "GET /verify-email": {
    status: 200,
    queries: 0,
    read: 0,
    written: 0,
    send: () => call("GET", "/verify-email?token=abc"),
  },
  "POST /verify-email": {
    status: 200,
    queries: 2,
    read: 9,
    written: 7,
    send: async () => {
      // N1: with the bearer of the token's own account (its check first, then the conditional write).
      const session = await fresh();
      const token = tokenFrom(await waitForEmail(session.user.email));
      return call("POST", "/verify-email", { token: session.accessToken, body: { token } });
    },
  },
  "POST /resend-verification": {
    status: 200,
    queries: 1,
    read: 2,
    written: 0,
    send: async () => call("POST", "/resend-verification", json((await fresh()).accessToken)),
  },

  // Signed in. GET: the guard's check rides in the route's first read (one round trip), a role rule
  // included. Writes under requireAuthInWrite (POST /posts, POST comments, POST /logout): the check rides
  // in the write's batch and each write carries it as a condition (one round trip, about 2 more rows read
  // per carried statement: the session and user rows again). Other methods: the check, then the route.
  "GET /me": {
    status: 200,
    queries: 1,
    read: 2,
    written: 0,
    send: (f) => call("GET", "/me", json(f.user.accessToken)),
  },
  "PATCH /me": {
    status: 200,
    queries: 2,
    read: 11,
    written: 8,
    send: async () => call("PATCH", "/me", json((await fresh()).accessToken, { username: unique("renamed_") })),
  },
  "DELETE /me": {
    status: 200,
    queries: 2,
    read: 54,
    written: 21,
    send: async () => {
      const s = await fresh();
      return call("DELETE", "/me", json(s.accessToken, { password: s.user.password }));
    },
  },
  "POST /logout": {
    status: 200,
    queries: 1,
    read: 8,
    written: 7,
    send: async () => call("POST", "/logout", json((await fresh()).accessToken)),
  },
  "POST /me/reauthenticate": {
    status: 200,
    queries: 2,
    read: 41,
    written: 24,
    send: async () => {
      const s = await fresh();
      return call("POST", "/me/reauthenticate", json(s.accessToken, { password: s.user.password }));
    },
  },
  "POST /me/reauthenticate/email-code": {
    status: 200,
    queries: 2,
    read: 8,
    written: 6,
    send: async () => {
      const email = `${unique("social_")}@idp.test`;
      const idToken = await mintIdToken(claims({ email }));
      const signedIn = await oauthCall("POST", "/oauth/acme/id-token", { body: { idToken } });
      return call("POST", "/me/reauthenticate/email-code", json(signedIn.body.data.accessToken));
    },
  },
  "POST /me/passkeys/options": {
    status: 200,
    queries: 2,
    read: 43,
    written: 19,
    send: async () => {
      const s = await freshVerified();
      return call("POST", "/me/passkeys/options", json(s.accessToken, { currentPassword: s.user.password }));
    },
  },
  "POST /me/passkeys": {
    status: 201,
    queries: 2,
    read: 21, // the claim, the insert and its audit re-read the session and the account (were 4 round trips, 8 rows)
    written: 10,
    send: async () => {
      const s = await freshVerified();
      const authenticator = await SoftwareAuthenticator.create(ORIGIN);
      const options = await api(
        "POST",
        "/me/passkeys/options",
        json(s.accessToken, { currentPassword: s.user.password }),
      );
      const response = await authenticator.register(options.body.data.options);
      return call("POST", "/me/passkeys", json(s.accessToken, { response }));
    },
  },
  "GET /me/passkeys": {
    status: 200,
    queries: 1,
    read: 5,
    written: 0,
    send: async () => {
      const s = await freshVerified();
      await addPasskey(s);
      return call("GET", "/me/passkeys", { token: s.accessToken });
    },
  },
  "PATCH /me/passkeys/:id": {
    status: 200,
    queries: 2,
    read: 4,
    written: 1,
    send: async () => {
      const s = await freshVerified();
      const { passkey } = await addPasskey(s);
      return call("PATCH", `/me/passkeys/${passkey.id}`, json(s.accessToken, { name: "Phone" }));
    },
  },
  "DELETE /me/passkeys/:id": {
    status: 200,
    queries: 2,
    read: 44,
    written: 19,
    send: async () => {
      const s = await freshVerified();
      const { passkey } = await addPasskey(s);
      return call("DELETE", `/me/passkeys/${passkey.id}`, json(s.accessToken, { currentPassword: s.user.password }));
    },
  },
  "POST /me/mfa/totp": {
    status: 200,
    queries: 2,
    read: 43,
    written: 19,
    send: async () => {
      const s = await freshVerified();
      return call("POST", "/me/mfa/totp", json(s.accessToken, { currentPassword: s.user.password }));
    },
  },
  "POST /me/mfa/totp/confirm": {
    status: 200,
    queries: 2,
    read: 68,
    written: 56,
    send: async () => {
      const s = await freshVerified();
      const started = await api("POST", "/me/mfa/totp", json(s.accessToken, { currentPassword: s.user.password }));
      const code = codeNow(base32Decode(started.body.data.secret));
      return call("POST", "/me/mfa/totp/confirm", json(s.accessToken, { code }));
    },
  },
  "DELETE /me/mfa/totp": {
    status: 200,
    queries: 2,
    read: 78,
    written: 48,
    send: async () => {
      const e = await enrolled();
      const body = { currentPassword: e.user.password, code: codeNow(e.secret) };
      return call("DELETE", "/me/mfa/totp", json(e.session.accessToken, body));
    },
  },
  "POST /me/mfa/recovery-codes": {
    status: 200,
    queries: 2,
    read: 77,
    written: 77,
    send: async () => {
      const e = await enrolled();
      const body = { currentPassword: e.user.password, code: codeNow(e.secret) };
      return call("POST", "/me/mfa/recovery-codes", json(e.session.accessToken, body));
    },
  },
  "POST /login/mfa": {
    status: 200,
    queries: 3,
    read: 44,
    written: 26,
    send: async () => {
      const e = await enrolled();
      const step = await api("POST", "/login", { body: { email: e.user.email, password: e.user.password } });
      return call("POST", "/login/mfa", { body: { mfaToken: step.body.data.mfaToken, code: codeNow(e.secret) } });
    },
  },
  "DELETE /user/:id/mfa": {
    status: 200,
    queries: 2,
    read: 46,
    written: 24,
    send: async (f) => {
      const e = await enrolled();
      return call("DELETE", `/user/${e.user.id}/mfa`, json(f.admin.accessToken, {}));
    },
  },
  "POST /me/password": {
    status: 200,
    queries: 2,
    read: 53,
    written: 25,
    send: async () => {
      const s = await fresh();
      return call(
        "POST",
        "/me/password",
        json(s.accessToken, { currentPassword: s.user.password, newPassword: "another-horse-battery-7" }),
      );
    },
  },
  "DELETE /me/pending-email": {
    status: 200,
    queries: 1,
    read: 6,
    written: 1,
    send: async () => {
      const s = await fresh();
      const email = `${unique("pending_")}@example.com`;
      await api("PATCH", "/me", json(s.accessToken, { email, currentPassword: s.user.password }));
      return call("DELETE", "/me/pending-email", json(s.accessToken));
    },
  },
  "GET /me/sessions": {
    status: 200,
    queries: 1,
    read: 5,
    written: 0,
    send: (f) => call("GET", "/me/sessions", json(f.user.accessToken)),
  },
  "DELETE /me/sessions/:id": {
    status: 200,
    queries: 1,
    read: 9,
    written: 7,
    send: async () => {
      const s = await fresh();
      await login(s.user);
      const list = await api("GET", "/me/sessions", { token: s.accessToken });
      const id = list.body.data.find((other: { current: boolean }) => !other.current).id;
      return call("DELETE", `/me/sessions/${id}`, json(s.accessToken));
    },
  },

  "GET /posts": {
    status: 200,
    queries: 1,
    read: PER_ITEM * LIMIT + 5,
    written: 0,
    send: (f) => call("GET", `/posts?limit=${LIMIT}`, json(f.user.accessToken)),
  },
  "POST /posts": {
    status: 201,
    queries: 1,
    read: 11,
    written: 7,
    // A fresh author: the fixture's user holds the bulk posts, past MAX_POSTS_PER_USER.
    send: async () =>
      call("POST", "/posts", json((await fresh()).accessToken, { title: "Budgeted", content: "Counted" })),
  },
  "GET /posts/:id": {
    status: 200,
    queries: 1,
    read: 4,
    written: 0,
    send: (f) => call("GET", `/posts/${f.postId}`, json(f.user.accessToken)),
  },
  "PUT /posts/:id": {
    status: 200,
    queries: 1,
    read: 10,
    written: 2,
    send: (f) => call("PUT", `/posts/${f.postId}`, json(f.user.accessToken, { title: "Put", content: "Whole" })),
  },
  "PATCH /posts/:id": {
    status: 200,
    queries: 1,
    read: 10,
    written: 2,
    send: (f) => call("PATCH", `/posts/${f.postId}`, json(f.user.accessToken, { title: "Patched" })),
  },
  "DELETE /posts/:id": {
    status: 200,
    queries: 1,
    read: 11,
    written: 3,
    send: async () => {
      const s = await fresh();
      const post = await api("POST", "/posts", json(s.accessToken, { title: "Doomed", content: "x" }));
      return call("DELETE", `/posts/${post.body.data.post.id}`, json(s.accessToken));
    },
  },
  "GET /posts/:id/comments": {
    status: 200,
    queries: 1,
    read: PER_ITEM * LIMIT + 5,
    written: 0,
    send: (f) => call("GET", `/posts/${f.postId}/comments?limit=${LIMIT}`, json(f.user.accessToken)),
  },
  "POST /posts/:id/comments": {
    status: 201,
    queries: 1,
    read: 11,
    written: 6,
    send: (f) => call("POST", `/posts/${f.postId}/comments`, json(f.user.accessToken, { content: "Counted" })),
  },
  "PATCH /comments/:id": {
    status: 200,
    queries: 1,
    read: 10,
    written: 1,
    send: (f) => call("PATCH", `/comments/${f.commentId}`, json(f.user.accessToken, { content: "Edited" })),
  },
  "DELETE /comments/:id": {
    status: 200,
    queries: 1,
    read: 11,
    written: 3,
    send: async (f) => {
      const c = await api("POST", `/posts/${f.postId}/comments`, json(f.user.accessToken, { content: "Doomed" }));
      return call("DELETE", `/comments/${c.body.data.comment.id}`, json(f.user.accessToken));
    },
  },

  "GET /users": {
    status: 200,
    queries: 1,
    read: PER_ITEM * LIMIT + 5,
    written: 0,
    send: (f) => call("GET", `/users?limit=${LIMIT}`, json(f.admin.accessToken)),
  },
  "GET /user/:id": {
    status: 200,
    queries: 1,
    read: 3,
    written: 0,
    send: (f) => call("GET", `/user/${f.user.user.id}`, json(f.admin.accessToken)),
  },
  "PUT /user/:id": {
    status: 200,
    queries: 2,
    read: 16,
    written: 17,
    send: async (f) => {
      const target = await registerUser();
      const body = { username: unique("put_"), email: `${unique("put_")}@example.com` };
      return call("PUT", `/user/${target.id}`, json(f.admin.accessToken, body));
    },
  },
  "PATCH /user/:id": {
    status: 200,
    queries: 2,
    read: 12,
    written: 8,
    send: async (f) =>
      call("PATCH", `/user/${(await registerUser()).id}`, json(f.admin.accessToken, { role: "moderator" })),
  },
  "DELETE /user/:id": {
    status: 200,
    queries: 2,
    read: 13,
    written: 8,
    send: async (f) => call("DELETE", `/user/${(await registerUser()).id}`, json(f.admin.accessToken)),
  },
  "GET /audit": {
    status: 200,
    queries: 1,
    read: async () => LIMIT + (await auditEvents()) + 5,
    written: 0,
    send: (f) => call("GET", `/audit?limit=${LIMIT}`, json(f.admin.accessToken)),
  },

  // Social sign-in (a sign-up at the callback and with an ID token: the most round trips).
  "GET /oauth/providers": {
    status: 200,
    queries: 0,
    read: 0,
    written: 0,
    send: () => oauthCall("GET", "/oauth/providers"),
  },
  "GET /oauth/:provider/authorize": {
    status: 302,
    queries: 1,
    read: 5,
    written: 6,
    send: async () => oauthCall("GET", `/oauth/acme/authorize?${authorizeQuery((await pkcePair()).challenge)}`),
  },
  "GET /oauth/:provider/callback": {
    status: 302,
    queries: 3,
    read: 12,
    written: 20,
    send: async () => oauthCall("GET", `/oauth/acme/callback?${(await atCallback()).query}`),
  },
  "POST /oauth/token": {
    status: 200,
    queries: 3,
    read: 40,
    written: 24,
    send: async () => {
      const { query, spa } = await atCallback();
      const landed = await settled("GET", `/oauth/acme/callback?${query}`, { bindings: OAUTH });
      const code = new URL(landed.headers.get("location") ?? "").searchParams.get("code");
      return oauthCall("POST", "/oauth/token", { body: { code, codeVerifier: spa.verifier } });
    },
  },
  "POST /oauth/:provider/id-token": {
    status: 200,
    queries: 4,
    read: 40,
    written: 35,
    send: async () =>
      oauthCall("POST", "/oauth/acme/id-token", {
        body: { idToken: await mintIdToken(claims({ email: `${unique("native")}@idp.test` })) },
      }),
  },
  "GET /me/identities": {
    status: 200,
    queries: 1,
    read: 5,
    written: 0,
    send: (f) => oauthCall("GET", "/me/identities", json(f.user.accessToken)),
  },
  "POST /me/identities/:provider": {
    status: 200,
    queries: 2,
    read: 42,
    written: 20,
    send: async () => {
      const s = await freshVerified();
      const body = {
        redirectUri: `${SPA}/done`,
        codeChallenge: (await pkcePair()).challenge,
        currentPassword: s.user.password,
      };
      return oauthCall("POST", "/me/identities/acme", json(s.accessToken, body));
    },
  },
  "POST /me/identities": {
    status: 201,
    queries: 2,
    read: 14,
    written: 14,
    send: async () => {
      const { s, code, spa } = await atLinkCode();
      return oauthCall("POST", "/me/identities", json(s.accessToken, { code, codeVerifier: spa.verifier }));
    },
  },
  "DELETE /me/identities/:id": {
    status: 200,
    queries: 2,
    read: 44,
    written: 24,
    send: async () => {
      const { s, identityId } = await withIdentity();
      return oauthCall(
        "DELETE",
        `/me/identities/${identityId}`,
        json(s.accessToken, { currentPassword: s.user.password }),
      );
    },
  },
  "POST /passkeys/login/options": {
    status: 200,
    queries: 1,
    read: 1,
    written: 4,
    send: async () => call("POST", "/passkeys/login/options", { body: { email: `${unique("nobody_")}@example.com` } }),
  },
  "POST /passkeys/login": {
    status: 200,
    queries: 3,
    read: 36,
    written: 27,
    send: async () => {
      const s = await freshVerified();
      const { authenticator } = await addPasskey(s);
      return call("POST", "/passkeys/login", { body: await signedAssertion(authenticator, s.user.email) });
    },
  },

  "GET /openapi.json": { status: 200, queries: 0, read: 0, written: 0, send: () => call("GET", "/openapi.json") },
  "GET /docs": { status: 200, queries: 0, read: 0, written: 0, send: () => call("GET", "/docs") },
};

/** Every `METHOD /path` the app serves (middleware is registered as ALL). */
const servedRoutes = () => [
  ...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`)),
];

const BULK_POSTS = 1_200;
const BULK_COMMENTS = 1_000;

let f: Fixtures;
beforeAll(async () => {
  const user = await registerAndLogin();
  const admin = await signedInAs("admin");
  const post = await api("POST", "/posts", json(user.accessToken, { title: "Budget", content: "Rows" }));
  const postId = post.body.data.post.id;
  const comment = await api("POST", `/posts/${postId}/comments`, json(user.accessToken, { content: "One" }));
  // Enough posts for page 500 at limit 2, and a long comment list, written inside SQLite in one statement each.
  await env.DB.prepare(
    `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?2)
     insert into posts (id, author_id, title, content) select lower(hex(randomblob(16))), ?1, 'Bulk ' || n, 'x' from seq`,
  )
    .bind(user.user.id, BULK_POSTS)
    .run();
  await env.DB.prepare(
    `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 200)
     insert into comments (id, post_id, author_id, content) select lower(hex(randomblob(16))), ?1, ?2, 'c' || n from seq`,
  )
    .bind(postId, user.user.id)
    .run();
  // Enough comments for page 500 at limit 2, by another author (the user's own stay below the comment cap).
  await env.DB.prepare(
    `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?3)
     insert into comments (id, post_id, author_id, content) select lower(hex(randomblob(16))), ?1, ?2, 'd' || n from seq`,
  )
    .bind(postId, admin.user.id, BULK_COMMENTS)
    .run();
  f = { user, admin, postId, commentId: comment.body.data.comment.id };
});

describe("route budgets: D1 round trips and rows of every route", () => {
  it("the table lists every route the app serves, and nothing else", () => {
    expect(Object.keys(BUDGETS).sort()).toEqual(servedRoutes().sort());
  });

  it.each(Object.entries(BUDGETS))("%s", async (route, budget) => {
    const res = await budget.send(f);
    expect(res.status, `${route}: ${JSON.stringify(res.body)}`).toBe(budget.status);
    const timing = d1Timing(res);
    const rows = d1Rows(res);
    expect(timing.queries, `${route} round trips`).toBe(budget.queries);
    const read = typeof budget.read === "number" ? budget.read : await budget.read();
    expect(rows.read, `${route} rows read`).toBeLessThanOrEqual(read);
    expect(rows.written, `${route} rows written`).toBeLessThanOrEqual(budget.written);
  });
});

/** A route's other proofs, where they cost otherwise than the table's row (which shows the password). */
describe("route budgets: variants", () => {
  it("POST /me/reauthenticate with a passkey assertion: 2 round trips (was 6)", async () => {
    const s = await freshVerified();
    const { authenticator } = await addPasskey(s);
    const passkey = await signedAssertion(authenticator, s.user.email);
    const res = await call("POST", "/me/reauthenticate", json(s.accessToken, { passkey }));
    expect(res.status).toBe(200);
    expect(d1Timing(res).queries).toBe(2);
    // The carried conditions re-read the session, account and passkey rows (were 38 rows read, 21 written).
    expect(d1Rows(res).read).toBeLessThanOrEqual(65);
    expect(d1Rows(res).written).toBeLessThanOrEqual(21);
  });
});

/**
 * Pages are numbered (`page`, `limit`), so a deep page must skip the rows
 * before it: SQLite walks them in the list's index, and D1 counts each
 * skipped index entry as a row read. No table row is read or joined for them
 * (the page's ids come from the index alone), so the extra cost is exactly
 * one row per skipped entry. Reading page 500 for no more than page 1 needs
 * keyset pagination (a cursor), a change of the list contract.
 */
describe("deep pages: one index entry per skipped row, nothing more", () => {
  const LIMIT_SMALL = 2;
  it.each([
    ["GET /posts", () => "/posts"],
    ["GET /posts/:id/comments", () => `/posts/${f.postId}/comments`],
  ])("%s: page 500 costs page 1 plus the skipped index entries", async (_, path) => {
    const token = f.user.accessToken;
    const rowsOf = async (page: number) =>
      d1Rows(await call("GET", `${path()}?limit=${LIMIT_SMALL}&page=${page}`, { token })).read;
    const [first, far] = [await rowsOf(1), await rowsOf(500)];
    const skipped = 499 * LIMIT_SMALL;
    expect(far).toBeLessThanOrEqual(first + skipped);
  });
});

/**
 * With `cursor` (the previous answer's `meta.nextCursor`) the page's ids are
 * sought in the list's index after the previous page's last item, so a deep
 * page reads what page 1 reads, plus the one index entry the seek lands on
 * (the previous page's last item, compared and passed): no entry before it is
 * walked, however deep.
 */
const SEEK_ENTRY = 1;
describe("deep pages by cursor: page 500 costs no more than page 1", () => {
  const LIMIT_SMALL = 2;
  it.each([
    ["GET /posts", () => "/posts", () => f.user.accessToken],
    ["GET /posts/:id/comments", () => `/posts/${f.postId}/comments`, () => f.user.accessToken],
  ])("%s", async (_, path, token) => {
    const get = (query: string) => call("GET", `${path()}?limit=${LIMIT_SMALL}&${query}`, { token: token() });
    const first = await get("page=1");
    // The numbered page 499 hands out the cursor of page 500.
    const before = await get("page=499");
    const cursor = before.body.meta.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    const far = await get(`cursor=${encodeURIComponent(cursor)}`);
    expect(far.status).toBe(200);
    expect(far.body.meta.page).toBe(500);
    expect(far.body.data).toHaveLength(LIMIT_SMALL);
    // The same items as the numbered page 500, for a fraction of its rows.
    const numbered = await get("page=500");
    expect(far.body.data.map((i: { id: string }) => i.id)).toEqual(numbered.body.data.map((i: { id: string }) => i.id));
    expect(d1Timing(far).queries).toBe(1);
    expect(d1Rows(far).read).toBeLessThanOrEqual(d1Rows(first).read + SEEK_ENTRY);
    // What the cursor saves: the numbered page walks every index entry before it.
    expect(d1Rows(numbered).read).toBeGreaterThanOrEqual(d1Rows(far).read + 499 * LIMIT_SMALL - SEEK_ENTRY);
  });

  it.each([
    ["GET /users", "/users"],
    ["GET /audit", "/audit"],
  ])("%s: a page by cursor costs at most page 1 (admin lists, one round trip)", async (_, path) => {
    const get = (query: string) => call("GET", `${path}?limit=${LIMIT_SMALL}&${query}`, json(f.admin.accessToken));
    const first = await get("page=1");
    const second = await get("page=2");
    const byCursor = await get(`cursor=${encodeURIComponent(first.body.meta.nextCursor)}`);
    expect(byCursor.body.data).toEqual(second.body.data);
    expect(byCursor.body.meta.page).toBe(2);
    expect(d1Timing(byCursor).queries).toBe(1);
    expect(d1Rows(byCursor).read).toBeLessThanOrEqual(d1Rows(first).read + SEEK_ENTRY);
  });
});

describe("row counts are shown only to a signed-in caller by default", () => {
  it("login, forgot-password and register answer without row counts: they would tell a known email from an unknown one", async () => {
    const { email, password } = await registerUser();
    const unknown = `nobody-${unique()}@example.com`;
    const answers = [
      await settled("POST", "/login", { body: { email, password: `${password}-wrong` } }),
      await settled("POST", "/login", { body: { email: unknown, password } }),
      await settled("POST", "/forgot-password", { body: { email } }),
      await settled("POST", "/forgot-password", { body: { email: unknown } }),
      await settled("POST", "/login/email-code", { body: { email } }),
      await settled("POST", "/login/email-code", { body: { email: unknown } }),
      await settled("POST", "/login/email-code/verify", { body: { email, code: "123456" } }),
      await settled("POST", "/register", { body: { username: unique("user_"), email, password } }),
      await settled("POST", "/refresh", { body: { refreshToken: "forged" } }),
    ];
    for (const res of answers) expect(d1Timing(res).rows, res.headers.get("Server-Timing") ?? "").toBeUndefined();
  });

  it("a signed-in request carries them, and a forged token does not", async () => {
    expect(d1Rows(await settled("GET", "/me", { token: f.user.accessToken }))).toEqual({ read: 2, written: 0 });
    const forged = `${f.user.accessToken.slice(0, -4)}AAAA`;
    expect(d1Timing(await settled("GET", "/me", { token: forged })).rows).toBeUndefined();
  });
});
