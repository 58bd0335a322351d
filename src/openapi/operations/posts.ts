import { PERMISSIONS } from "../../auth/permissions";
import { COMMENT_CONTENT_MAX, commentBody } from "../../comments/schemas";
import { pageQuery } from "../../http/pagination";
import { POST_CONTENT_MAX, patchPostBody, postListQuery, putPostBody, TITLE_MAX } from "../../posts/schemas";
import { idParam } from "../../users/fields";
import { empty, type Operation, single } from "../operation";

const tag = "Posts and comments";
/** `userText()` checks length in code points, as JSON Schema's `maxLength` counts, and refuses blank text. */
const text = (max: number) => ({ minLength: 1, maxLength: max, description: "Not blank; stored exactly as sent." });
const postFields = { properties: { title: text(TITLE_MAX), content: text(POST_CONTENT_MAX) } };
const commentFields = { properties: { content: text(COMMENT_CONTENT_MAX) } };

const ownerOrModerator = { roles: PERMISSIONS["content:modify-any"], alsoOwner: "the author" };

export const postOperations: Operation[] = [
  {
    method: "get",
    path: "/posts",
    tag,
    summary: "List posts, newest first",
    description: "`q` matches the start of a title (case-insensitive); `authorId` limits to one author.",
    auth: "bearer",
    query: postListQuery,
    success: { status: 200, description: "Posts", list: "Post" },
  },
  {
    method: "post",
    path: "/posts",
    tag,
    summary: "Write a post",
    auth: "bearer",
    body: putPostBody,
    bodyRefinements: postFields,
    success: { status: 201, description: "Post created", data: single("post", "Post") },
    errors: ["CONTENT_LIMIT_REACHED", "TOO_MANY_REQUESTS"],
  },
  {
    method: "get",
    path: "/posts/:id",
    tag,
    summary: "One post",
    auth: "bearer",
    params: idParam,
    success: { status: 200, description: "Post", data: single("post", "Post") },
    errors: ["NOT_FOUND"],
  },
  {
    method: "put",
    path: "/posts/:id",
    tag,
    summary: "Replace a post's title and content",
    auth: ownerOrModerator,
    params: idParam,
    body: putPostBody,
    bodyRefinements: postFields,
    success: { status: 200, description: "Post updated", data: single("post", "Post") },
    errors: ["NOT_FOUND", "TOO_MANY_REQUESTS"],
  },
  {
    method: "patch",
    path: "/posts/:id",
    tag,
    summary: "Change a post's title, content or both",
    auth: ownerOrModerator,
    params: idParam,
    body: patchPostBody,
    bodyRefinements: { ...postFields, minProperties: 1 },
    success: { status: 200, description: "Post updated", data: single("post", "Post") },
    errors: ["NOT_FOUND", "TOO_MANY_REQUESTS"],
  },
  {
    method: "delete",
    path: "/posts/:id",
    tag,
    summary: "Delete a post and its comments",
    auth: ownerOrModerator,
    params: idParam,
    success: { status: 200, description: "Post deleted", data: empty },
    errors: ["NOT_FOUND"],
  },
  {
    method: "get",
    path: "/posts/:id/comments",
    tag,
    summary: "List a post's comments, oldest first",
    auth: "bearer",
    params: idParam,
    query: pageQuery,
    success: { status: 200, description: "Comments", list: "Comment" },
    errors: ["NOT_FOUND"],
  },
  {
    method: "post",
    path: "/posts/:id/comments",
    tag,
    summary: "Comment on a post",
    auth: "bearer",
    params: idParam,
    body: commentBody,
    bodyRefinements: commentFields,
    success: { status: 201, description: "Comment created", data: single("comment", "Comment") },
    errors: ["NOT_FOUND", "CONTENT_LIMIT_REACHED", "TOO_MANY_REQUESTS"],
  },
  {
    method: "patch",
    path: "/comments/:id",
    tag,
    summary: "Edit a comment",
    auth: ownerOrModerator,
    params: idParam,
    body: commentBody,
    bodyRefinements: commentFields,
    success: { status: 200, description: "Comment updated", data: single("comment", "Comment") },
    errors: ["NOT_FOUND", "TOO_MANY_REQUESTS"],
  },
  {
    method: "delete",
    path: "/comments/:id",
    tag,
    summary: "Delete a comment",
    auth: ownerOrModerator,
    params: idParam,
    success: { status: 200, description: "Comment deleted", data: empty },
    errors: ["NOT_FOUND"],
  },
];
