// The scenarios of `npm run bench`, as autocannon request lists. Every
// request carries a client IP, as Cloudflare's edge would add one.
import { SIZES } from "./seed.mjs";

export const PASSWORD = "bench-password-2026";
const IP = { "CF-Connecting-IP": "203.0.113.7" };
const JSON_BODY = { ...IP, "Content-Type": "application/json" };

/** Signs `email` in with the bench password: the login answer (`accessToken`, `refreshToken`, `user`). */
export async function login(url, email) {
  const res = await fetch(`${url}/login`, {
    method: "POST",
    headers: JSON_BODY,
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`bench login failed: ${res.status} ${JSON.stringify(body)}`);
  return body.data;
}

const get = (path, token) => ({
  requests: [{ method: "GET", path, headers: token ? { ...IP, Authorization: `Bearer ${token}` } : IP }],
});

/**
 * POST /refresh needs a fresh refresh token per request, and reusing one
 * revokes its session. The bench logs in twice per connection (real logins)
 * and keeps those tokens in a queue: each request takes one, and each answer
 * puts the rotated token back. No token is ever sent twice, and every request
 * is a real rotation of a live session.
 */
async function refreshRequests(url, sessions) {
  const queue = [];
  for (let i = 0; i < sessions; i++) queue.push((await login(url, `user${i + 1}@example.com`)).refreshToken);
  return {
    requests: [
      {
        method: "POST",
        path: "/refresh",
        headers: JSON_BODY,
        setupRequest: (req) => {
          // Only a failed refresh can empty the queue; the placeholder then fails visibly as unexpected.
          const token = queue.shift() ?? "queue-ran-dry";
          return { ...req, body: JSON.stringify({ refreshToken: token }) };
        },
        onResponse: (status, body) => {
          if (status === 200) queue.push(JSON.parse(body).data.refreshToken);
        },
      },
    ],
  };
}

/** POST /login cycles through the first thousand seeded users, each with the right password. */
function loginRequests() {
  let n = 0;
  return {
    requests: [
      {
        method: "POST",
        path: "/login",
        headers: JSON_BODY,
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ email: `user${1 + (n++ % 1000)}@example.com`, password: PASSWORD }),
        }),
      },
    ],
  };
}

const newPost = JSON.stringify({
  title: "Benchmarking a Worker",
  content: "Measured side by side with the runtime's own ceiling. ".repeat(8),
});

/** Scenario name → how to drive it; built after seeding, with real tokens from real logins. */
export async function appScenarios(url, { hotPostId, connections }) {
  const user = await login(url, "user42@example.com");
  const admin = await login(url, "benchadmin@example.com");
  const lastPage = Math.ceil(SIZES.posts / 20);
  // Page 499's nextCursor leads to page 500 by keyset: the same items, sought rather than skipped to.
  const page499 = await fetch(`${url}/posts?limit=20&page=499`, {
    headers: { Authorization: `Bearer ${user.accessToken}` },
  }).then((res) => res.json());
  const toPage500 = encodeURIComponent(page499.meta.nextCursor);
  return [
    ["GET /health", get("/health")],
    ["GET /me", get("/me", user.accessToken)],
    ["GET /posts/:id", get(`/posts/${hotPostId}`, user.accessToken)],
    ["GET /posts?limit=20 (page 1)", get("/posts?limit=20", user.accessToken)],
    [`GET /posts?limit=20 (page 500 of ${lastPage})`, get("/posts?limit=20&page=500", user.accessToken)],
    ["GET /posts?limit=20 (cursor to page 500)", get(`/posts?limit=20&cursor=${toPage500}`, user.accessToken)],
    ["GET /posts/:id/comments?limit=20", get(`/posts/${hotPostId}/comments?limit=20`, user.accessToken)],
    ["GET /users?q=user42 (admin)", get("/users?q=user42", admin.accessToken)],
    [
      "POST /posts",
      {
        expectStatus: 201,
        requests: [
          {
            method: "POST",
            path: "/posts",
            headers: { ...JSON_BODY, Authorization: `Bearer ${user.accessToken}` },
            body: newPost,
          },
        ],
      },
    ],
    ["POST /refresh", await refreshRequests(url, connections * 2)],
    ["POST /login (bcrypt cost 10)", loginRequests()],
  ];
}

/** The reference Worker (bench/hello.ts): the ceiling, the cost of one D1 query, the cost of one bcrypt compare. */
export const referenceScenarios = (cost) => [
  ["hello-world Worker (ceiling)", get("/")],
  ["hello-world + 1 D1 query", get("/d1")],
  // What the D1 Sessions API costs locally on its own (the app runs every request in a session).
  ["hello-world + 1 D1 query, Sessions API", get("/d1-session")],
  [`bcrypt-ts compare in workerd (cost ${cost})`, get("/bcrypt")],
];

/** Logins for the paired overhead measurement: seeded users the load scenarios do not use. */
export const loginProbe = {
  headers: JSON_BODY,
  body: (i) => JSON.stringify({ email: `user${5001 + i}@example.com`, password: PASSWORD }),
};
