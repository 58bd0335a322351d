import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { reserveAttempt } from "../src/auth/lockout/failures";
import { verifyPassword } from "../src/auth/passwords";
import { verifyAccessToken } from "../src/auth/tokens";
import { createDb } from "../src/db/client";
import { posts, sessions, users } from "../src/db/schema";
import app from "../src/index";
import { selectPosts, toPost } from "../src/posts/service";
import { idParam } from "../src/users/fields";

/**
 * `node bench/ab.mjs`: the real Worker plus, under `/ab/…`, the pieces of
 * `GET /posts/:id` one at a time, in ONE bundle and one isolate, so every
 * variant sees the same runtime, the same D1 and the same load. Each variant
 * answers the same JSON a route would; the differences between them are what
 * each layer costs. Measurement only: nothing here is served in production.
 */
type Bindings = { DB: D1Database; JWT_SECRET: string };

// Built once per isolate with Drizzle, then reused as plain SQL: what a hand-written
// prepared statement of the same query would be.
let postSql: string | undefined;
let storedHash: string | undefined;
const checkSql = new Map<string, { sql: string; params: unknown[] }>();

/** The statement the route runs (`… where posts.id = ?`), built by Drizzle once. */
const rawPostSql = () =>
  (postSql ??= selectPosts(createDb({} as D1Database))
    .where(eq(posts.id, "x"))
    .toSQL().sql);
const rawPost = (db: D1Database | D1DatabaseSession, id: string) => db.prepare(rawPostSql()).bind(id);

/** The guard's session check (session, user, liveness), as raw SQL built once per session. */
function rawCheck(db: D1Database | D1DatabaseSession, claims: { sid: string; sub: string }) {
  let built = checkSql.get(claims.sid);
  if (!built) {
    built = createDb(db)
      .select({ id: users.id, role: users.role, status: users.status, lastProofAt: sessions.lastProofAt })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sid), eq(sessions.userId, claims.sub)))
      .toSQL();
    checkSql.set(claims.sid, built);
  }
  return db.prepare(built.sql).bind(...built.params);
}

const bearer = (h: string | undefined) => h?.replace(/^Bearer /, "") ?? "";

const ab = new Hono<{ Bindings: Bindings }>()
  // The reference of `npm run bench` (bench/hello.ts), here in the same isolate.
  .get("/ab/d1", async (c) => c.json({ status: "success", data: await c.env.DB.prepare("select 1 as one").first() }))
  // The reference through the D1 Sessions API: what the Sessions API's hop costs on its own.
  .get("/ab/d1-session", async (c) =>
    c.json({
      status: "success",
      data: await c.env.DB.withSession("first-unconstrained").prepare("select 1 as one").first(),
    }),
  )
  // The post by one raw prepared statement: no JWT, no zod, no Drizzle, no session API.
  .get("/ab/raw/:id", async (c) => {
    const row = await rawPost(c.env.DB, c.req.param("id")).first();
    return c.json({ status: "success", data: { post: row } });
  })
  // The same statement through the D1 Sessions API (what every request of the app uses).
  .get("/ab/raw-session/:id", async (c) => {
    const row = await rawPost(c.env.DB.withSession("first-unconstrained"), c.req.param("id")).first();
    return c.json({ status: "success", data: { post: row } });
  })
  // The same query built and mapped by Drizzle on every request (as the route does).
  .get("/ab/drizzle/:id", async (c) => {
    const row = await selectPosts(createDb(c.env.DB))
      .where(eq(posts.id, c.req.param("id")))
      .get();
    return c.json({ status: "success", data: { post: row && toPost(row) } });
  })
  // The raw statement plus the route's zod validation of the path parameter.
  .get("/ab/zod/:id", async (c) => {
    const { id } = idParam.parse({ id: c.req.param("id") });
    const row = await rawPost(c.env.DB, id).first();
    return c.json({ status: "success", data: { post: row } });
  })
  // The raw statement plus the guard's JWT verify (HS256 through Web Crypto).
  .get("/ab/jwt/:id", async (c) => {
    const claims = await verifyAccessToken(bearer(c.req.header("Authorization")), c.env.JWT_SECRET);
    if (!claims) return c.json({ status: "error" }, 401);
    const row = await rawPost(c.env.DB, c.req.param("id")).first();
    return c.json({ status: "success", data: { post: row } });
  })
  // The raw statement with the session check in the same batch (one round trip, two statements).
  .get("/ab/batch/:id", async (c) => {
    const claims = await verifyAccessToken(bearer(c.req.header("Authorization")), c.env.JWT_SECRET);
    if (!claims) return c.json({ status: "error" }, 401);
    const [check, post] = await c.env.DB.batch([rawCheck(c.env.DB, claims), rawPost(c.env.DB, c.req.param("id"))]);
    if (!check?.results[0]) return c.json({ status: "error" }, 401);
    return c.json({ status: "success", data: { post: post?.results[0] } });
  })
  // F + zod, without the Sessions API: the minimal route where reads need no bookmark.
  .get("/ab/minimal-plain/:id", async (c) => {
    const claims = await verifyAccessToken(bearer(c.req.header("Authorization")), c.env.JWT_SECRET);
    if (!claims) return c.json({ status: "error" }, 401);
    const { id } = idParam.parse({ id: c.req.param("id") });
    const [check, post] = await c.env.DB.batch([rawCheck(c.env.DB, claims), rawPost(c.env.DB, id)]);
    if (!check?.results[0]) return c.json({ status: "error" }, 401);
    return c.json({ status: "success", data: { post: post?.results[0] } });
  })
  // Login's first round trip alone: the lockout reservation, as POST /login makes it.
  .get("/ab/reserve", async (c) => {
    const db = createDb(c.env.DB.withSession("first-unconstrained"));
    // Workers clocks move on I/O, so this is the wall time of the round trip, as `Server-Timing` reports it.
    const started = performance.now();
    const attempt = await reserveAttempt(db, { email: c.req.query("email") ?? "", network: "203.0.113.7" });
    c.header("Server-Timing", `d1;dur=${(performance.now() - started).toFixed(1)}`);
    return c.json({ status: "success", data: { found: !!attempt.user } });
  })
  // Login's bcrypt compare alone, against the account's stored hash (read once per isolate).
  .get("/ab/bcrypt", async (c) => {
    storedHash ??=
      (await c.env.DB.prepare("select password_hash from users limit 1").first<string>("password_hash")) ?? "";
    const ok = await verifyPassword(c.req.query("password") ?? "", storedHash);
    return c.json({ status: "success", data: { ok } }, ok ? 200 : 500);
  })
  // Everything a minimal hand-written route needs: JWT, zod, session API, check + post in one batch.
  .get("/ab/minimal/:id", async (c) => {
    const claims = await verifyAccessToken(bearer(c.req.header("Authorization")), c.env.JWT_SECRET);
    if (!claims) return c.json({ status: "error" }, 401);
    const { id } = idParam.parse({ id: c.req.param("id") });
    const db = c.env.DB.withSession("first-unconstrained");
    const [check, post] = await db.batch([rawCheck(db, claims), rawPost(db, id)]);
    if (!check?.results[0]) return c.json({ status: "error" }, 401);
    return c.json({ status: "success", data: { post: post?.results[0] } });
  });

export default {
  fetch: (request: Request, env: Bindings, ctx: ExecutionContext) =>
    new URL(request.url).pathname.startsWith("/ab/")
      ? ab.fetch(request, env, ctx)
      : app.fetch(request, env as unknown as Env, ctx),
};
