import { PERMISSIONS } from "../../auth/permissions";
import { idParam } from "../../users/fields";
import { deleteUserBody, patchUserBody, putUserBody, userListQuery } from "../../users/schemas";
import { empty, type Operation, single } from "../operation";

const tag = "User management";
const self = "the user themself";
const ownEmail =
  "On one's own id this is `PATCH /me`: a new email needs `currentPassword` and stays pending until confirmed. An admin's change of someone else's email applies at once, unverified, and the old address is told.";

export const userOperations: Operation[] = [
  {
    method: "get",
    path: "/users",
    tag,
    summary: "List and search users",
    description: "`q` matches the start of a username or email (case-insensitive).",
    auth: { roles: PERMISSIONS["users:list"] },
    query: userListQuery,
    success: { status: 200, description: "Users", list: "User" },
  },
  {
    method: "get",
    path: "/user/:id",
    tag,
    summary: "One user",
    description: "A plain user asking about anyone else gets 403 whether or not the id exists.",
    auth: { roles: PERMISSIONS["users:read-any"], alsoOwner: self },
    params: idParam,
    success: { status: 200, description: "User", data: single("user", "User") },
    errors: ["NOT_FOUND"],
  },
  {
    method: "put",
    path: "/user/:id",
    tag,
    summary: "Replace a user's username and email",
    description: ownEmail,
    auth: { roles: PERMISSIONS["users:manage"], alsoOwner: self },
    params: idParam,
    body: putUserBody,
    success: { status: 200, description: "User updated", data: single("user", "User") },
    errors: ["NOT_FOUND", "INVALID_CREDENTIALS", "CONFLICT", "TOO_MANY_REQUESTS"],
  },
  {
    method: "patch",
    path: "/user/:id",
    tag,
    summary: "Change a user's username, email, role or status",
    description: `\`role\` and \`status\` only by an admin. Suspending a user revokes every session. ${ownEmail}`,
    auth: { roles: PERMISSIONS["users:manage"], alsoOwner: self },
    params: idParam,
    body: patchUserBody,
    bodyRefinements: { minProperties: 1 },
    success: { status: 200, description: "User updated", data: single("user", "User") },
    errors: ["NOT_FOUND", "INVALID_CREDENTIALS", "CONFLICT", "LAST_ADMIN", "TOO_MANY_REQUESTS"],
  },
  {
    method: "delete",
    path: "/user/:id",
    tag,
    summary: "Delete a user with their posts and comments",
    description: "On one's own id this is `DELETE /me`: `password` is required, with the same rate limit.",
    auth: { roles: PERMISSIONS["users:manage"], alsoOwner: self },
    params: idParam,
    body: deleteUserBody,
    success: { status: 200, description: "User deleted", data: empty },
    errors: ["NOT_FOUND", "INVALID_CREDENTIALS", "LAST_ADMIN", "TOO_MANY_REQUESTS"],
  },
];
