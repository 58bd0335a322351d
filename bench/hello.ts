import { Hono } from "hono";

/**
 * The ceiling for `npm run bench`: the same framework on the same runtime,
 * answering with a small JSON body and doing nothing else.
 */
const app = new Hono();
app.get("/", (c) => c.json({ status: "success", message: "Hello" }));

export default app;
