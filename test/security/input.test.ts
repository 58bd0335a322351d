import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ApiResponse, api, login, registerAndLogin, type Session, unique } from "../support/api";
import { createComment, createPost } from "../support/content";
import { rows } from "../support/db";
import { detailPaths, expectFailure } from "../support/expect-failure";
import { signedInAs } from "../support/roles";
import { sessionIdOf } from "../support/sessions";

/*
 * Hostile input in every text field, query parameter and path id. Text that
 * a person may write (posts, comments) is stored and returned verbatim;
 * identifiers (usernames, emails, ids, page numbers) accept only their shape
 * and refuse the rest with 400 VALIDATION_ERROR naming the field. Nothing
 * answers 500. (Registration's username and email rules are in login.test.ts,
 * content limits in posts.test.ts and comments.test.ts.)
 */

const EDGE_TEXT: [string, string][] = [
  ["NUL", "before\u0000after"],
  ["RTL override", "invoice\u202Efdp.exe"],
  ["combining marks", "Z\u0351\u0352\u0353a\u0301\u0302\u0303 e\u0301"],
  ["4-byte emoji and ZWJ sequences", "😀 🏳️‍🌈 👩‍👩‍👧‍👦 𝕏 \u{1F9D1}\u{1F3FD}"],
  ["BOM and zero-width characters", "\uFEFF\u200B\u200C\u200D visible"],
  ["line and paragraph separators", "a\u2028b\u2029c\u0085d\r\ne"],
  ["noncharacters and private use", "\uFFFE\uFFFF\uE000\u{10FFFF} end"],
  ["SQL metacharacters", "'; DROP TABLE users; -- \" OR 1=1 /* */ ` \\ \\' %_ ?1 :id $1"],
  ["markup and JSON", '<script>alert(1)</script> &amp; {"role":"admin"}'],
];

/** UTF-16 that is not Unicode text: JSON can carry it, UTF-8 storage cannot, so it must be refused. */
const LONE_SURROGATES = ["\\ud800", "x\\udfff", "cut emoji \\ud83d"];

const stored = async (sql: string, id: string) => (await rows(sql, id))[0];

type TextWrite = {
  field: string;
  /** Sends `text` in the field (a raw JSON string literal when `raw`); returns the response and the row's id. */
  send: (s: Session, json: string) => Promise<ApiResponse>;
  /** The field's value in the response, in D1, and as read back through the API. */
  readBack: (s: Session, res: ApiResponse) => Promise<[unknown, unknown, unknown]>;
};

const rawJson = (s: Session, method: string, path: string, json: string) =>
  api(method, path, { token: s.accessToken, rawBody: json, headers: { "Content-Type": "application/json" } });

const readPost = async (s: Session, res: ApiResponse, column: "title" | "content") => {
  const post = res.body.data.post;
  const read = await api("GET", `/posts/${post.id}`, { token: s.accessToken });
  return [
    post[column],
    (await stored(`select ${column} from posts where id = ?`, post.id))?.[column],
    read.body.data.post[column],
  ] as [unknown, unknown, unknown];
};

const readComment = async (s: Session, res: ApiResponse) => {
  const comment = res.body.data.comment;
  const list = await api("GET", `/posts/${comment.postId}/comments?limit=100`, { token: s.accessToken });
  const listed = list.body.data.find((c: { id: string }) => c.id === comment.id);
  return [
    comment.content,
    (await stored("select content from comments where id = ?", comment.id))?.content,
    listed?.content,
  ] as [unknown, unknown, unknown];
};

const TEXT_WRITES: [string, TextWrite][] = [
  [
    "POST /posts title",
    {
      field: "title",
      send: (s, t) => rawJson(s, "POST", "/posts", `{"title":${t},"content":"c"}`),
      readBack: (s, r) => readPost(s, r, "title"),
    },
  ],
  [
    "POST /posts content",
    {
      field: "content",
      send: (s, t) => rawJson(s, "POST", "/posts", `{"title":"t","content":${t}}`),
      readBack: (s, r) => readPost(s, r, "content"),
    },
  ],
  [
    "PUT /posts/:id title and content",
    {
      field: "title",
      send: async (s, t) =>
        rawJson(s, "PUT", `/posts/${(await createPost(s.accessToken)).id}`, `{"title":${t},"content":${t}}`),
      readBack: (s, r) => readPost(s, r, "title"),
    },
  ],
  [
    "PATCH /posts/:id content",
    {
      field: "content",
      send: async (s, t) => rawJson(s, "PATCH", `/posts/${(await createPost(s.accessToken)).id}`, `{"content":${t}}`),
      readBack: (s, r) => readPost(s, r, "content"),
    },
  ],
  [
    "POST /posts/:id/comments content",
    {
      field: "content",
      send: async (s, t) =>
        rawJson(s, "POST", `/posts/${(await createPost(s.accessToken)).id}/comments`, `{"content":${t}}`),
      readBack: readComment,
    },
  ],
  [
    "PATCH /comments/:id content",
    {
      field: "content",
      send: async (s, t) => {
        const comment = await createComment(s.accessToken, (await createPost(s.accessToken)).id);
        return rawJson(s, "PATCH", `/comments/${comment.id}`, `{"content":${t}}`);
      },
      readBack: readComment,
    },
  ],
];

describe("free text (post titles and content, comments)", () => {
  let writer: Session;
  // A fresh writer per test: each test's writes stay under the per-user content write limit (20 a minute).
  beforeEach(async () => {
    writer = await registerAndLogin();
  });

  it.each(TEXT_WRITES)("%s stores every edge case verbatim and returns it unchanged", async (_, write) => {
    for (const [name, text] of EDGE_TEXT) {
      const res = await write.send(writer, JSON.stringify(text));
      expect(res.status, name).toBeLessThan(300);
      expect(await write.readBack(writer, res), name).toEqual([text, text, text]);
    }
  });

  it.each(TEXT_WRITES)("%s refuses lone surrogates with 400 naming the field", async (_, write) => {
    for (const surrogate of LONE_SURROGATES) {
      const res = await write.send(writer, `"${surrogate}"`);
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res)).toContain(write.field);
    }
  });

  it("the tables are all still there", async () => {
    for (const table of ["users", "sessions", "posts", "comments", "audit_events"]) {
      expect(await rows(`select count(*) as n from ${table}`)).toHaveLength(1);
    }
  });
});

const BAD_USERNAMES = [
  "nul\u0000name",
  "\u202Eadmin",
  "adme\u0301n",
  "user😀x",
  "admin'--",
  "a; DROP TABLE users",
  "a b",
  "a".repeat(33),
];

const BAD_EMAILS = [
  "' OR 1=1 --@example.com",
  "a@example.com'; DROP TABLE users;--",
  "nul\u0000@example.com",
  "\u202Eadmin@example.com",
  "usér@example.com",
  "a@exämple.com", // internationalised domains must be sent in punycode
  "😀@example.com",
  "a@example.com\u0000",
  `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(58)}.com`, // 255 characters
];

describe("usernames and emails after registration", () => {
  let s: Session;
  beforeAll(async () => {
    s = await registerAndLogin();
  });

  const profileWrites = (field: "username" | "email", value: string): [string, () => Promise<ApiResponse>][] => {
    const other = field === "username" ? { email: s.user.email } : { username: s.user.username };
    return [
      ["PATCH /me", () => api("PATCH", "/me", { token: s.accessToken, body: { [field]: value } })],
      [
        "PUT /user/:id",
        () => api("PUT", `/user/${s.user.id}`, { token: s.accessToken, body: { ...other, [field]: value } }),
      ],
      ["PATCH /user/:id", () => api("PATCH", `/user/${s.user.id}`, { token: s.accessToken, body: { [field]: value } })],
    ];
  };

  it("refuses a username that is not [A-Za-z0-9_.-]{3,32} with 400 naming it, on every route, changing nothing", async () => {
    const before = await rows("select * from users where id = ?", s.user.id);
    for (const username of BAD_USERNAMES) {
      for (const [route, send] of profileWrites("username", username)) {
        const res = await send();
        expectFailure(res, 400, "VALIDATION_ERROR");
        expect(detailPaths(res), `${route} ${JSON.stringify(username)}`).toEqual(["username"]);
      }
    }
    expect(await rows("select * from users where id = ?", s.user.id)).toEqual(before);
  });

  it("refuses an email that is not an address with 400 naming it, on every route that takes one", async () => {
    const before = await rows("select * from users where id = ?", s.user.id);
    for (const email of BAD_EMAILS) {
      const routes: [string, () => Promise<ApiResponse>][] = [
        ...profileWrites("email", email),
        ["POST /login", () => api("POST", "/login", { body: { email, password: "whatever-password-1" } })],
        ["POST /forgot-password", () => api("POST", "/forgot-password", { body: { email } })],
      ];
      for (const [route, send] of routes) {
        const res = await send();
        expectFailure(res, 400, "VALIDATION_ERROR");
        expect(detailPaths(res), `${route} ${JSON.stringify(email)}`).toEqual(["email"]);
      }
    }
    expect(await rows("select * from users where id = ?", s.user.id)).toEqual(before);
  });

  it("accepts an email of exactly 254 characters and one with quotes and dashes, kept lower-cased", async () => {
    const tag = unique("q");
    const longest = `${tag}${"a".repeat(64 - tag.length)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`;
    expect(longest).toHaveLength(254);
    for (const email of [longest, `O'Hara--${unique()}+x@Example.COM`]) {
      const res = await api("PATCH", "/me", {
        token: s.accessToken,
        body: { email, currentPassword: s.user.password },
      });
      expect(res.status).toBe(200);
      // Pending until confirmed (test/security/takeover.test.ts), and stored as it will be used.
      expect(res.body.data.user.pendingEmail).toBe(email.toLowerCase());
      const row = await stored("select pending_email from users where id = ?", s.user.id);
      expect(row?.pending_email).toBe(email.toLowerCase());
    }
  });
});

/** Sent as is in a query string: not valid percent-encoding, or encoding bytes that are not UTF-8. */
const MALFORMED_PERCENT = ["%", "%zz", "%FF", "%E0%A4%A", "%ED%A0%80", "%C0%AE"];

describe("search and paging parameters", () => {
  let moderator: Session;
  let admin: Session;
  let postId: string;
  let quoted: { id: string; email: string };
  const tag = unique("srch").toLowerCase();

  beforeAll(async () => {
    [moderator, admin] = await Promise.all([signedInAs("moderator"), signedInAs("admin")]);
    postId = (await createPost(moderator.accessToken, { title: `${tag} it's "quoted" -- ; /*` })).id;
    const email = `${tag}'or'1'--x@example.com`;
    // Set by an admin, so it applies at once (one's own change would stay pending until confirmed).
    const res = await api("PATCH", `/user/${moderator.user.id}`, { token: admin.accessToken, body: { email } });
    quoted = { id: moderator.user.id, email: res.body.data.user.email };
  });

  const get = (path: string, session = moderator) => api("GET", path, { token: session.accessToken });

  it("q on /users and /posts takes SQL metacharacters literally", async () => {
    const users = await get(`/users?q=${encodeURIComponent(`${tag}'OR'1'--`)}`);
    expect(users.body.data.map((u: { id: string }) => u.id)).toEqual([quoted.id]);
    const posts = await get(`/posts?q=${encodeURIComponent(`${tag} it's "quoted" --`)}`);
    expect(posts.body.data.map((p: { id: string }) => p.id)).toEqual([postId]);
    for (const q of ["' OR '1'='1", "%' OR 1=1 --", '" OR ""="', "*", "%", "_"]) {
      for (const path of ["/users", "/posts"]) {
        const res = await get(`${path}?q=${encodeURIComponent(`${tag}${q}`)}`);
        expect(res.status).toBe(200);
        expect(res.body.meta.total, `${path} ${q}`).toBe(0);
      }
    }
  });

  it("q on /users and /posts takes unicode edge cases, answering an empty page", async () => {
    for (const [name, text] of EDGE_TEXT) {
      for (const path of ["/users", "/posts"]) {
        const res = await get(`${path}?q=${encodeURIComponent(`${tag}${text}`)}`);
        expect(res.status, `${path} ${name}`).toBe(200);
        expect(res.body.meta.total).toBe(0);
      }
    }
  });

  it("q at its length limit is searched and one more is refused (/users 254, /posts 200 code points)", async () => {
    expect((await get(`/users?q=${"a".repeat(254)}`)).status).toBe(200);
    expectFailure(await get(`/users?q=${"a".repeat(255)}`), 400, "VALIDATION_ERROR");
    expect((await get(`/posts?q=${encodeURIComponent("😀".repeat(200))}`)).status).toBe(200);
    expectFailure(await get(`/posts?q=${encodeURIComponent("😀".repeat(201))}`), 400, "VALIDATION_ERROR");
  });

  it("q with malformed percent-encoding is searched as the text it is; a repeated q is refused", async () => {
    for (const path of ["/users", "/posts"]) {
      for (const junk of MALFORMED_PERCENT) {
        const res = await get(`${path}?q=${tag}${junk}`);
        expect(res.status, `${path} q=${junk}`).toBe(200);
        expect(res.body.meta.total).toBe(0);
      }
      const repeated = await get(`${path}?q=a&q=b`);
      expectFailure(repeated, 400, "VALIDATION_ERROR");
      expect(detailPaths(repeated)).toEqual(["q"]);
    }
  });

  const listRoutes = () =>
    [
      ["/users", moderator],
      ["/posts", moderator],
      [`/posts/${postId}/comments`, moderator],
      ["/audit", admin],
    ] as const;

  const JUNK_NUMBERS = [
    "",
    "0",
    "-1",
    "1.5",
    "1e3",
    "0x10",
    " 1",
    "1 ",
    "NaN",
    "Infinity",
    "99999999999999999999",
    "1;DROP TABLE users",
    "' OR 1=1",
    "%00",
    "😀",
    "１",
  ];

  it("page and limit refuse everything but a whole number in range, naming the parameter", async () => {
    for (const [path, session] of listRoutes()) {
      for (const param of ["page", "limit"]) {
        const outOfRange = param === "limit" ? "101" : "1000000001";
        for (const junk of [...JUNK_NUMBERS.map(encodeURIComponent), outOfRange, ...MALFORMED_PERCENT]) {
          const res = await get(`${path}?${param}=${junk}`, session);
          expectFailure(res, 400, "VALIDATION_ERROR");
          expect(detailPaths(res), `${path} ${param}=${junk}`).toEqual([param]);
        }
      }
    }
  });

  it("sort on /users accepts only its four values; a column name or SQL is refused", async () => {
    for (const sort of [
      "password_hash",
      "passwordHash",
      "id",
      "-username",
      "createdAt;drop table users",
      "createdAt desc",
      "1",
      "",
      "username,email",
    ]) {
      const res = await get(`/users?sort=${encodeURIComponent(sort)}`);
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res), sort).toEqual(["sort"]);
    }
  });

  it("unknown parameters are refused rather than ignored", async () => {
    for (const [path, session] of listRoutes()) {
      const res = await get(`${path}?limit=1&orderBy=password_hash`, session);
      expectFailure(res, 400, "VALIDATION_ERROR");
    }
  });
});

const JUNK_IDS = [
  "1",
  "-1",
  "null",
  "undefined",
  "' OR '1'='1",
  "1; DROP TABLE users",
  "\u0000",
  "\u202E",
  "😀",
  "a".repeat(5000),
  "..%2F..%2Fhealth",
  "%",
  "%zz",
  "%ED%A0%80",
];

describe("path ids", () => {
  let s: Session;
  let validId: string;
  beforeAll(async () => {
    s = await registerAndLogin();
    validId = (await createPost(s.accessToken)).id;
  });

  const routes: [string, string, object | undefined][] = [
    ["GET", "/user/:id", undefined],
    ["PUT", "/user/:id", { username: "abc", email: "a@example.com" }],
    ["PATCH", "/user/:id", { username: "abc" }],
    ["DELETE", "/user/:id", undefined],
    ["DELETE", "/me/sessions/:id", undefined],
    ["GET", "/posts/:id", undefined],
    ["PUT", "/posts/:id", { title: "t", content: "c" }],
    ["PATCH", "/posts/:id", { title: "t" }],
    ["DELETE", "/posts/:id", undefined],
    ["GET", "/posts/:id/comments", undefined],
    ["POST", "/posts/:id/comments", { content: "c" }],
    ["PATCH", "/comments/:id", { content: "c" }],
    ["DELETE", "/comments/:id", undefined],
  ];

  it.each(routes)("%s %s answers junk, SQL and unicode ids with 400 naming id", async (method, template, body) => {
    const variants = [
      ...JUNK_IDS.map((junk) => (/%/.test(junk) ? junk : encodeURIComponent(junk))),
      `${validId}%00`,
      `${validId}'--`,
      `${validId}%20`,
      `${validId.slice(0, -1)}`,
      `{${validId}}`,
    ];
    for (const id of variants) {
      const res = await api(method, template.replace(":id", id), { token: s.accessToken, body });
      expectFailure(res, 400, "VALIDATION_ERROR");
      expect(detailPaths(res), `${method} ${template} ${id.slice(0, 40)}`).toEqual(["id"]);
    }
  });
});

describe("path ids in upper case", () => {
  it("find the same resource as in lower case, on every :id route and the id filters", async () => {
    const s = await registerAndLogin();
    const other = await login(s.user);
    const post = await createPost(s.accessToken);
    const comment = await createComment(s.accessToken, post.id);
    const call = (method: string, path: string, body?: object) => api(method, path, { token: s.accessToken, body });
    const up = (id: string) => id.toUpperCase();

    expect((await call("GET", `/user/${up(s.user.id)}`)).body.data.user.id).toBe(s.user.id);
    expect((await call("PATCH", `/user/${up(s.user.id)}`, { username: unique("up_") })).status).toBe(200);
    expect((await call("PUT", `/user/${up(s.user.id)}`, { username: unique("up_"), email: s.user.email })).status).toBe(
      200,
    );
    expect((await call("GET", `/posts/${up(post.id)}`)).body.data.post.id).toBe(post.id);
    expect((await call("PATCH", `/posts/${up(post.id)}`, { title: "Up" })).status).toBe(200);
    expect((await call("PUT", `/posts/${up(post.id)}`, { title: "Up", content: "c" })).status).toBe(200);
    expect((await call("GET", `/posts/${up(post.id)}/comments`)).body.data).toHaveLength(1);
    expect((await call("POST", `/posts/${up(post.id)}/comments`, { content: "c" })).body.data.comment.postId).toBe(
      post.id,
    );
    expect((await call("GET", `/posts?authorId=${up(s.user.id)}`)).body.data).toHaveLength(1);
    expect((await call("PATCH", `/comments/${up(comment.id)}`, { content: "edited" })).status).toBe(200);
    expect((await call("DELETE", `/comments/${up(comment.id)}`)).status).toBe(200);
    expect((await call("DELETE", `/posts/${up(post.id)}`)).status).toBe(200);
    expect((await call("DELETE", `/me/sessions/${up(sessionIdOf(other))}`)).status).toBe(200);
    expect((await call("DELETE", `/user/${up(s.user.id)}`, { password: s.user.password })).status).toBe(200);
  });

  it("filter the audit trail like lower case ones", async () => {
    const admin = await signedInAs("admin");
    const lower = await api("GET", `/audit?userId=${admin.user.id}`, { token: admin.accessToken });
    const upper = await api("GET", `/audit?userId=${admin.user.id.toUpperCase()}`, { token: admin.accessToken });
    expect(lower.body.meta.total).toBeGreaterThan(0);
    expect(upper.body.meta.total).toBe(lower.body.meta.total);
  });
});

describe("email tokens", () => {
  const bodyFor = (path: string, token: string) =>
    path === "/verify-email" ? { token } : { token, password: "new-staple-orbit-42" };

  it("reset and verify answer junk tokens with 400 INVALID_TOKEN, and one over 512 characters by its length", async () => {
    // POST /verify-email needs the account's session (N1); junk is refused the same way with it.
    const bearer = (await registerAndLogin()).accessToken;
    for (const path of ["/reset-password", "/verify-email"]) {
      const token = path === "/verify-email" ? bearer : undefined;
      for (const junk of ["' OR 1=1 --", "\u0000", "\u202E😀", "../../etc/passwd", "%00", "a".repeat(512)]) {
        expectFailure(await api("POST", path, { token, body: bodyFor(path, junk) }), 400, "INVALID_TOKEN");
      }
      const tooLong = await api("POST", path, { token, body: bodyFor(path, "a".repeat(513)) });
      expectFailure(tooLong, 400, "VALIDATION_ERROR");
      expect(detailPaths(tooLong)).toEqual(["token"]);
    }
  });
});
