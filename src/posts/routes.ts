import { Hono } from "hono";
import { requireAuth } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { limitContentWrites } from "../content-limits/limits";
import type { AppEnv } from "../env";
import { clientIp } from "../http/client";
import { ok, pageMeta } from "../http/envelope";
import { validate } from "../http/validate";
import { idParam } from "../users/fields";
import { patchPostBody, postListQuery, putPostBody } from "./schemas";
import { createPost, deletePost, findPost, listPosts, updatePost } from "./service";

export const postsRoutes = new Hono<AppEnv>()
  .get("/posts", requireAuth, requirePermission("content:read"), validate("query", postListQuery), async (c) => {
    const { page, limit, authorId, q } = c.req.valid("query");
    const { items, total } = await listPosts(c.var.db, { page, limit }, { authorId, q });
    return ok(c, "Posts", items, { meta: pageMeta(page, limit, total) });
  })

  .post(
    "/posts",
    requireAuth,
    requirePermission("content:create"),
    validate("json", putPostBody),
    limitContentWrites("post"),
    async (c) => {
      const post = await createPost(c.var.db, c.var.user.id, c.req.valid("json"), c.var.config.MAX_POSTS_PER_USER);
      return ok(c, "Post created", { post }, { status: 201 });
    },
  )

  .get("/posts/:id", requireAuth, requirePermission("content:read"), validate("param", idParam), async (c) => {
    const post = await findPost(c.var.db, c.req.valid("param").id);
    return ok(c, "Post", { post });
  })

  .put(
    "/posts/:id",
    requireAuth,
    validate("param", idParam),
    validate("json", putPostBody),
    limitContentWrites("post"),
    async (c) => {
      const post = await updatePost(c.var.db, c.var.user, c.req.valid("param").id, c.req.valid("json"), clientIp(c));
      return ok(c, "Post updated", { post });
    },
  )

  .patch(
    "/posts/:id",
    requireAuth,
    validate("param", idParam),
    validate("json", patchPostBody),
    limitContentWrites("post"),
    async (c) => {
      const post = await updatePost(c.var.db, c.var.user, c.req.valid("param").id, c.req.valid("json"), clientIp(c));
      return ok(c, "Post updated", { post });
    },
  )

  .delete("/posts/:id", requireAuth, validate("param", idParam), async (c) => {
    await deletePost(c.var.db, c.var.user, c.req.valid("param").id, clientIp(c));
    return ok(c, "Post deleted");
  });
