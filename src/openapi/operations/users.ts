import { PERMISSIONS } from "../../auth/permissions";
import { idParam } from "../../users/fields";
import { patchUserBody, putUserBody, userListQuery } from "../../users/schemas";
import { empty, type Operation, single } from "../operation";

const tag = "User management";
const self = "the user themself";

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
    description: "A new email is unverified and gets a verification email.",
    auth: { roles: PERMISSIONS["users:manage"], alsoOwner: self },
    params: idParam,
    body: putUserBody,
    success: { status: 200, description: "User updated", data: single("user", "User") },
    errors: ["NOT_FOUND", "CONFLICT"],
  },
  {
    method: "patch",
    path: "/user/:id",
    tag,
    summary: "Change a user's username, email, role or status",
    description:
      "`role` and `status` only by an admin. Suspending a user revokes every session. A new email is unverified and gets a verification email.",
    auth: { roles: PERMISSIONS["users:manage"], alsoOwner: self },
    params: idParam,
    body: patchUserBody,
    bodyRefinements: { minProperties: 1 },
    success: { status: 200, description: "User updated", data: single("user", "User") },
    errors: ["NOT_FOUND", "CONFLICT", "LAST_ADMIN"],
  },
  {
    method: "delete",
    path: "/user/:id",
    tag,
    summary: "Delete a user with their posts and comments",
    auth: { roles: PERMISSIONS["users:manage"], alsoOwner: self },
    params: idParam,
    success: { status: 200, description: "User deleted", data: empty },
    errors: ["NOT_FOUND", "LAST_ADMIN"],
  },
];
