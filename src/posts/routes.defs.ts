import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requireAuthInWrite } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { lazySchema } from "../openapi/lazy-schema";
import { Post } from "../openapi/resources";
import { created, failures, INPUT, JSON_BODY, PERMITTED, page, success } from "../openapi/responses";
import { bearer, requestBody } from "../openapi/router";
import { idParam } from "../users/fields";
import { patchPostBody, postListQuery, putPostBody } from "./schemas";

const tags = ["Posts and comments"];
const ownerOrModerator = "Requires a bearer access token of the author, a moderator or an admin.";
const one = lazySchema(() => z.object({ post: Post }));

export const listPostsRoute = createRoute({
  method: "get",
  path: "/posts",
  tags,
  summary: "List posts, newest first",
  description: "`q` matches the start of a title (case-insensitive); `authorId` limits to one author.",
  security: bearer,
  middleware: [requireAuth, requirePermission("content:read")] as const,
  request: { query: postListQuery },
  responses: { 200: page("Posts", Post), ...failures(...PERMITTED, ...INPUT) },
});

export const createPostRoute = createRoute({
  method: "post",
  path: "/posts",
  tags,
  summary: "Write a post",
  security: bearer,
  middleware: [requireAuthInWrite, requirePermission("content:create")] as const,
  request: { body: requestBody(putPostBody) },
  responses: {
    201: created("Post created", one),
    ...failures(...PERMITTED, ...JSON_BODY, "CONTENT_LIMIT_REACHED", "TOO_MANY_REQUESTS"),
  },
});

export const getPostRoute = createRoute({
  method: "get",
  path: "/posts/{id}",
  tags,
  summary: "One post",
  security: bearer,
  middleware: [requireAuth, requirePermission("content:read")] as const,
  request: { params: idParam },
  responses: { 200: success("Post", one), ...failures(...PERMITTED, ...INPUT, "NOT_FOUND") },
});

export const putPostRoute = createRoute({
  method: "put",
  path: "/posts/{id}",
  tags,
  summary: "Replace a post's title and content",
  description: ownerOrModerator,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(putPostBody) },
  responses: {
    200: success("Post updated", one),
    ...failures(...PERMITTED, ...JSON_BODY, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const patchPostRoute = createRoute({
  method: "patch",
  path: "/posts/{id}",
  tags,
  summary: "Change a post's title, content or both",
  description: ownerOrModerator,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(patchPostBody) },
  responses: {
    200: success("Post updated", one),
    ...failures(...PERMITTED, ...JSON_BODY, "NOT_FOUND", "TOO_MANY_REQUESTS"),
  },
});

export const deletePostRoute = createRoute({
  method: "delete",
  path: "/posts/{id}",
  tags,
  summary: "Delete a post and its comments",
  description: ownerOrModerator,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam },
  responses: { 200: success("Post deleted"), ...failures(...PERMITTED, ...INPUT, "NOT_FOUND") },
});
