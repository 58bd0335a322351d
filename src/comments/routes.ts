import { sessionHoldsInWrite } from "../auth/guard";
import { actorInWrite } from "../auth/permissions";
import { limitContentWrites } from "../content-limits/limits";
import { clientIp } from "../http/client";
import { ok, pageMeta } from "../http/envelope";
import { createRouter } from "../openapi/router";
import { createCommentRoute, deleteCommentRoute, listCommentsRoute, patchCommentRoute } from "./routes.defs";
import { createComment, deleteComment, listComments, updateComment } from "./service";

export const commentsRoutes = createRouter()
  .openapi(listCommentsRoute, async (c) => {
    const paging = c.req.valid("query");
    const { items, total, page, nextCursor } = await listComments(c.var.db, c.req.valid("param").id, paging);
    return ok(c, "Comments", items, { meta: pageMeta(page, paging.limit, total, nextCursor) });
  })

  .openapi(createCommentRoute, async (c) => {
    await limitContentWrites(c, "comment");
    const { id } = c.req.valid("param");
    const cap = c.var.config.MAX_COMMENTS_PER_USER;
    const { content } = c.req.valid("json");
    const comment = await createComment(c.var.db, c.var.user.id, id, content, cap, sessionHoldsInWrite(c));
    return ok(c, "Comment created", { comment }, { status: 201 });
  })

  .openapi(patchCommentRoute, async (c) => {
    await limitContentWrites(c, "comment");
    const { id } = c.req.valid("param");
    const comment = await updateComment(c.var.db, actorInWrite(c), id, c.req.valid("json").content, clientIp(c));
    return ok(c, "Comment updated", { comment });
  })

  .openapi(deleteCommentRoute, async (c) => {
    await deleteComment(c.var.db, actorInWrite(c), c.req.valid("param").id, clientIp(c));
    return ok(c, "Comment deleted");
  });
