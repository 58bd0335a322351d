import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requireAuthInWrite } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { pageQuery } from "../http/pagination";
import { lazySchema } from "../openapi/lazy-schema";
import { Comment } from "../openapi/resources";
import { created, failures, INPUT, JSON_BODY, PERMITTED, page, success } from "../openapi/responses";
import { bearer, requestBody } from "../openapi/router";
import { idParam } from "../users/fields";
import { commentBody } from "./schemas";

const tags = ["Posts and comments"];
const ownerOrModerator = "Requires a bearer access token of the author, a moderator or an admin.";
const one = lazySchema(() => z.object({ comment: Comment }));

export const listCommentsRoute = createRoute({
  method: "get",
  path: "/posts/{id}/comments",
  tags,
  summary: "List a post's comments, oldest first",
  security: bearer,
  middleware: [requireAuth, requirePermission("content:read")] as const,
  request: { params: idParam, query: pageQuery },
  responses: { 200: page("Comments", Comment), ...failures(...PERMITTED, ...INPUT, "NOT_FOUND") },
});

export const createCommentRoute = createRoute({
  method: "post",
  path: "/posts/{id}/comments",
  tags,
  summary: "Comment on a post",
  security: bearer,
  middleware: [requireAuthInWrite, requirePermission("content:create")] as const,
  request: { params: idParam, body: requestBody(commentBody) },
  responses: {
    201: created("Comment created", one),
    ...failures(...PERMITTED, ...JSON_BODY, "NOT_FOUND", "CONTENT_LIMIT_REACHED", "TOO_MANY_REQUESTS"),
  },
});

export const patchCommentRoute = createRoute({
  method: "patch",
  path: "/comments/{id}",
  tags,
  summary: "Edit a comment",
  description: ownerOrModerator,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(commentBody) },
  responses: {
    200: success("Comment updated", one),
    ...failures(...PERMITTED, ...JSON_BODY, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const deleteCommentRoute = createRoute({
  method: "delete",
  path: "/comments/{id}",
  tags,
  summary: "Delete a comment",
  description: ownerOrModerator,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam },
  responses: { 200: success("Comment deleted"), ...failures(...PERMITTED, ...INPUT, "NOT_FOUND") },
});
