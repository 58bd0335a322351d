import { sessionHoldsInWrite } from "../auth/guard";
import { actorInWrite } from "../auth/permissions";
import { limitContentWrites } from "../content-limits/limits";
import { clientIp } from "../http/client";
import { ok, pageMeta } from "../http/envelope";
import { createRouter } from "../openapi/router";
import {
  createPostRoute,
  deletePostRoute,
  getPostRoute,
  listPostsRoute,
  patchPostRoute,
  putPostRoute,
} from "./routes.defs";
import { createPost, deletePost, findPost, listPosts, updatePost } from "./service";

export const postsRoutes = createRouter()
  .openapi(listPostsRoute, async (c) => {
    const { authorId, q, ...paging } = c.req.valid("query");
    const { items, total, page, nextCursor } = await listPosts(c.var.db, paging, { authorId, q });
    return ok(c, "Posts", items, { meta: pageMeta(page, paging.limit, total, nextCursor) });
  })

  .openapi(createPostRoute, async (c) => {
    await limitContentWrites(c, "post");
    const cap = c.var.config.MAX_POSTS_PER_USER;
    const post = await createPost(c.var.db, c.var.user.id, c.req.valid("json"), cap, sessionHoldsInWrite(c));
    return ok(c, "Post created", { post }, { status: 201 });
  })

  .openapi(getPostRoute, async (c) => {
    const post = await findPost(c.var.db, c.req.valid("param").id);
    return ok(c, "Post", { post });
  })

  .openapi(putPostRoute, async (c) => {
    await limitContentWrites(c, "post");
    const post = await updatePost(c.var.db, actorInWrite(c), c.req.valid("param").id, c.req.valid("json"), clientIp(c));
    return ok(c, "Post updated", { post });
  })

  .openapi(patchPostRoute, async (c) => {
    await limitContentWrites(c, "post");
    const post = await updatePost(c.var.db, actorInWrite(c), c.req.valid("param").id, c.req.valid("json"), clientIp(c));
    return ok(c, "Post updated", { post });
  })

  .openapi(deletePostRoute, async (c) => {
    await deletePost(c.var.db, actorInWrite(c), c.req.valid("param").id, clientIp(c));
    return ok(c, "Post deleted");
  });
