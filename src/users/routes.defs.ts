import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requireAuthInWrite } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { lazySchema } from "../openapi/lazy-schema";
import { User } from "../openapi/resources";
import { failures, INPUT, JSON_BODY, PERMITTED, page, STEP_UP, success } from "../openapi/responses";
import { bearer, requestBody } from "../openapi/router";
import { idParam } from "./fields";
import { deleteUserBody, patchUserBody, putUserBody, userListQuery } from "./schemas";

const tags = ["User management"];
const one = lazySchema(() => z.object({ user: User }));
const selfOr = (who: string) => `Requires a bearer access token of the user themself or ${who}.`;
const ownEmail =
  "On one's own id this is `PATCH /me`: a new email needs `currentPassword` and stays pending until confirmed. An admin's change of someone else's email applies at once, unverified, and the old address is told.";

export const listUsersRoute = createRoute({
  method: "get",
  path: "/users",
  tags,
  summary: "List and search users",
  description:
    "`q` matches the start of a username or email (case-insensitive).\n\nRequires a bearer access token of a moderator or an admin.",
  security: bearer,
  middleware: [requireAuth, requirePermission("users:list")] as const,
  request: { query: userListQuery },
  responses: { 200: page("Users", User), ...failures(...PERMITTED, ...INPUT) },
});

export const getUserRoute = createRoute({
  method: "get",
  path: "/user/{id}",
  tags,
  summary: "One user",
  description: `A plain user asking about anyone else gets 403 whether or not the id exists.\n\n${selfOr("a moderator or an admin")}`,
  security: bearer,
  middleware: [requireAuth] as const,
  request: { params: idParam },
  responses: { 200: success("User", one), ...failures(...PERMITTED, ...INPUT, "NOT_FOUND") },
});

export const putUserRoute = createRoute({
  method: "put",
  path: "/user/{id}",
  tags,
  summary: "Replace a user's username and email",
  description: `${ownEmail}\n\n${selfOr("an admin")}`,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(putUserBody) },
  responses: {
    200: success("User updated", one),
    ...failures(...PERMITTED, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "CONFLICT"),
  },
});

export const patchUserRoute = createRoute({
  method: "patch",
  path: "/user/{id}",
  tags,
  summary: "Change a user's username, email, role or status",
  description: `\`role\` and \`status\` only by an admin. Suspending a user revokes every session. ${ownEmail}\n\n${selfOr("an admin")}`,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(patchUserBody) },
  responses: {
    200: success("User updated", one),
    ...failures(...PERMITTED, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "CONFLICT", "LAST_ADMIN"),
  },
});

export const deleteUserRoute = createRoute({
  method: "delete",
  path: "/user/{id}",
  tags,
  summary: "Delete a user with their posts and comments",
  description: `On one's own id this is \`DELETE /me\`: \`password\` is required, with the same rate limit.\n\n${selfOr("an admin")}`,
  security: bearer,
  middleware: [requireAuthInWrite] as const,
  request: { params: idParam, body: requestBody(deleteUserBody, "Only `password`, and only when deleting oneself.") },
  responses: {
    200: success("User deleted"),
    ...failures(...PERMITTED, ...JSON_BODY, ...STEP_UP, "NOT_FOUND", "LAST_ADMIN"),
  },
});
