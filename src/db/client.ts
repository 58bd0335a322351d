import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { validationError } from "../http/errors";
import type { SessionCheck } from "./gate";
import { type D1Queryable, meterD1, serverTiming, unwrapStatement } from "./instrument";

export type Db = DrizzleD1Database;

/**
 * Drizzle over a D1 database, a D1 session, or a metered wrapper of either
 * (all it calls is prepare and batch). Without `{ schema }` on purpose: that
 * would rebuild the relational config of every table on every request (about
 * a tenth of the Worker's time per request in the bench) for `db.query`, which
 * nothing uses; queries go through `db.select()` and friends.
 */
export const createDb = (d1: D1Database | D1Queryable): Db => drizzle(d1 as D1Database);

/** What Drizzle's own `batch` uses of a built query: its D1 statement and how to map D1's rows back. */
type PreparedForBatch = {
  stmt: D1PreparedStatement;
  getQuery(): { params: unknown[] };
  mapResult(result: D1Result, fromBatch: true): unknown;
};

/**
 * Turns a Drizzle SELECT into a session check for the request's gate
 * (db/gate.ts), mapping its rows exactly as `db.batch` would (so, as in any
 * batch, the selected columns need distinct names). `accept` gets the mapped
 * rows and throws when the check fails.
 */
export function sessionCheck<Row>(query: { toSQL(): unknown }, accept: (rows: Row[]) => void): SessionCheck {
  const prepared = (query as unknown as { _prepare(): PreparedForBatch })._prepare();
  return {
    statement: unwrapStatement(prepared.stmt.bind(...prepared.getQuery().params)),
    accept: (result) => accept(prepared.mapResult(result, true) as Row[]),
  };
}

/** Request and response header carrying the D1 session bookmark (the name Cloudflare's examples use). */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/**
 * D1 bookmarks are dash-separated hex groups (`00000085-0000024c-00004c6d-8e61…`).
 * Anything else is refused before it reaches D1, where it would fail every
 * query of the request with an opaque error.
 */
const BOOKMARK = /^[0-9a-f]{1,64}(?:-[0-9a-f]{1,64}){1,7}$/i;

function bookmarkFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!BOOKMARK.test(header)) {
    throw validationError([{ path: BOOKMARK_HEADER, message: "Not a D1 bookmark; send back the value we returned" }]);
  }
  return header;
}

/**
 * Puts one Drizzle client on the context for the request, over a D1 session
 * (read replication): without a bookmark the first query may go to the
 * nearest replica; with the bookmark of an earlier response, every query sees
 * at least what that response saw, so a client that sends back the bookmark
 * of its write reads its own write. The response carries the session's latest
 * bookmark and a `Server-Timing` entry with the D1 time and query count.
 *
 * Rows read and written join that entry only for a signed-in caller (the
 * guard's session check passed), unless `SERVER_TIMING_ROWS` is `all`: before sign-in
 * they would tell apart what the answers keep identical on purpose (login,
 * forgot-password and resend-verification for a known vs an unknown email
 * read different rows).
 */
export const dbProvider: MiddlewareHandler<AppEnv> = async (c, next) => {
  const incoming = bookmarkFrom(c.req.header(BOOKMARK_HEADER));
  const session = c.env.DB.withSession(incoming ?? "first-unconstrained");
  const metered = meterD1(session);
  c.set("db", createDb(metered.db));
  c.set("sessionGate", {
    arm: (check) => metered.gate.arm(check),
    flush: metered.flush,
    demand: (rule) => metered.gate.demand(rule),
  });
  await next();
  const bookmark = session.getBookmark() ?? incoming;
  if (bookmark && !sharedCacheable(c.res.headers)) c.header(BOOKMARK_HEADER, bookmark);
  const rows = c.var.config.SERVER_TIMING_ROWS === "all" || metered.gate.passed;
  c.header("Server-Timing", serverTiming(metered.usage, { rows }), { append: true });
};

/**
 * A response a shared cache may keep (`/openapi.json`) must not carry one
 * client's bookmark: the cache would hand it to everyone. Such responses
 * read nothing a bookmark is about anyway.
 */
const sharedCacheable = (headers: Headers) => /\b(public|s-maxage)\b/i.test(headers.get("Cache-Control") ?? "");

export const nowIso = () => new Date().toISOString();
