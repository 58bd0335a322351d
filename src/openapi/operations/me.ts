import { idParam } from "../../users/fields";
import { deleteMeBody, patchMeBody } from "../../users/schemas";
import { component, empty, type Operation, single } from "../operation";

const tag = "Signed-in user";

export const meOperations: Operation[] = [
  {
    method: "get",
    path: "/me",
    tag,
    summary: "The signed-in user",
    auth: "bearer",
    success: { status: 200, description: "Current user", data: single("user", "User") },
  },
  {
    method: "patch",
    path: "/me",
    tag,
    summary: "Change the username, the email or both",
    description: "A new email is unverified and gets a verification email.",
    auth: "bearer",
    body: patchMeBody,
    bodyRefinements: { minProperties: 1 },
    success: { status: 200, description: "Profile updated", data: single("user", "User") },
    errors: ["CONFLICT"],
  },
  {
    method: "delete",
    path: "/me",
    tag,
    summary: "Delete the account, its posts and comments",
    description: "Needs the password: a stolen access token is not enough.",
    auth: "bearer",
    body: deleteMeBody,
    success: { status: 200, description: "Account deleted", data: empty },
    errors: ["INVALID_CREDENTIALS", "TOO_MANY_REQUESTS", "ACCOUNT_LOCKED", "LAST_ADMIN"],
  },
  {
    method: "get",
    path: "/me/sessions",
    tag,
    summary: "The caller's live sessions, most recently used first",
    auth: "bearer",
    success: {
      status: 200,
      description: "Sessions",
      data: { type: "array", items: component("Session"), maxItems: 100 },
    },
  },
  {
    method: "delete",
    path: "/me/sessions/:id",
    tag,
    summary: "Revoke one of the caller's sessions",
    description: "Anyone else's session id answers 404, like an unknown one.",
    auth: "bearer",
    params: idParam,
    success: { status: 200, description: "Session revoked", data: empty },
    errors: ["NOT_FOUND"],
  },
];
