import { Hono } from "hono";
import { requireAuth } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { limitContentWrites } from "../content-limits/limits";
import type { AppEnv } from "../env";
import { clientIp } from "../http/client";
import { ok, pageMeta } from "../http/envelope";
import { pageQuery } from "../http/pagination";
import { validate } from "../http/validate";
import { idParam } from "../users/fields";
import { commentBody } from "./schemas";
import { createComment, deleteComment, listComments, updateComment } from "./service";

export const commentsRoutes = new Hono<AppEnv>()
  .get(
    "/posts/:id/comments",
    requireAuth,
    requirePermission("content:read"),
    validate("param", idParam),
    validate("query", pageQuery),
    async (c) => {
      const { page, limit } = c.req.valid("query");
      const { items, total } = await listComments(c.var.db, c.req.valid("param").id, { page, limit });
      return ok(c, "Comments", items, { meta: pageMeta(page, limit, total) });
    },
  )

  .post(
    "/posts/:id/comments",
    requireAuth,
    requirePermission("content:create"),
    validate("param", idParam),
    validate("json", commentBody),
    limitContentWrites("comment"),
    async (c) => {
      const comment = await createComment(
        c.var.db,
        c.var.user.id,
        c.req.valid("param").id,
        c.req.valid("json").content,
        c.var.config.MAX_COMMENTS_PER_USER,
      );
      return ok(c, "Comment created", { comment }, { status: 201 });
    },
  )

  .patch(
    "/comments/:id",
    requireAuth,
    validate("param", idParam),
    validate("json", commentBody),
    limitContentWrites("comment"),
    async (c) => {
      const { id } = c.req.valid("param");
      const comment = await updateComment(c.var.db, c.var.user, id, c.req.valid("json").content, clientIp(c));
      return ok(c, "Comment updated", { comment });
    },
  )

  .delete("/comments/:id", requireAuth, validate("param", idParam), async (c) => {
    await deleteComment(c.var.db, c.var.user, c.req.valid("param").id, clientIp(c));
    return ok(c, "Comment deleted");
  });
