import { compare } from "bcrypt-ts";
import { Hono } from "hono";

type Bindings = {
  DB: { prepare(query: string): { first(): Promise<unknown> }; withSession(constraint: string): Bindings["DB"] };
  BENCH_PASSWORD: string;
  BENCH_PASSWORD_HASH: string;
};

/**
 * The references for `npm run bench`, on the same runtime and framework as the
 * Worker: `/` is the hello-world ceiling; `/d1` adds the one D1 query an
 * authenticated read cannot do without; `/d1-session` the same through the D1
 * Sessions API, as every request of the app makes it; `/bcrypt` is one bcrypt-ts compare,
 * what POST /login spends by design.
 */
const app = new Hono<{ Bindings: Bindings }>()
  .get("/", (c) => c.json({ status: "success", message: "Hello" }))
  .get("/d1", async (c) => c.json({ status: "success", data: await c.env.DB.prepare("select 1 as one").first() }))
  .get("/d1-session", async (c) =>
    c.json({
      status: "success",
      data: await c.env.DB.withSession("first-unconstrained").prepare("select 1 as one").first(),
    }),
  )
  .get("/bcrypt", async (c) => {
    const ok = await compare(c.env.BENCH_PASSWORD, c.env.BENCH_PASSWORD_HASH);
    return c.json({ status: "success", data: { ok } }, ok ? 200 : 500);
  });

export default app;
