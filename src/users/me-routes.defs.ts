import { createRoute, z } from "@hono/zod-openapi";
import { requireAuthAllowUnverified, requireAuthAllowUnverifiedInWrite } from "../auth/guard";
import { lazySchema } from "../openapi/lazy-schema";
import { Session, User } from "../openapi/resources";
import { failures, INPUT, JSON_BODY, SIGNED_IN, STEP_UP, success } from "../openapi/responses";
import { bearer, requestBody } from "../openapi/router";
import { idParam } from "./fields";
import { deleteMeBody, patchMeBody } from "./schemas";

const tags = ["Signed-in user"];

export const patchMeRoute = createRoute({
  method: "patch",
  path: "/me",
  tags,
  summary: "Change the username, the email or both",
  description:
    "A new email needs `currentPassword` and is only pending (`pendingEmail`) until confirmed through the link mailed to it; the current address is told.",
  security: bearer,
  middleware: [requireAuthAllowUnverified] as const,
  request: { body: requestBody(patchMeBody) },
  responses: {
    200: success(
      "Profile updated",
      lazySchema(() => z.object({ user: User })),
    ),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "CONFLICT"),
  },
});

export const cancelPendingEmailRoute = createRoute({
  method: "delete",
  path: "/me/pending-email",
  tags,
  summary: "Cancel a pending email change",
  description: "Its confirmation link dies with it.",
  security: bearer,
  middleware: [requireAuthAllowUnverifiedInWrite] as const,
  responses: {
    200: success(
      "Pending email change cancelled",
      lazySchema(() => z.object({ user: User })),
    ),
    ...failures(...SIGNED_IN, { code: "NOT_FOUND", status: 404, when: "No email change is pending." }),
  },
});

export const deleteMeRoute = createRoute({
  method: "delete",
  path: "/me",
  tags,
  summary: "Delete the account, its posts and comments",
  description: "Needs the password: a stolen access token is not enough.",
  security: bearer,
  middleware: [requireAuthAllowUnverifiedInWrite] as const,
  request: { body: requestBody(deleteMeBody) },
  responses: {
    200: success("Account deleted"),
    ...failures(...SIGNED_IN, ...JSON_BODY, ...STEP_UP, "LAST_ADMIN"),
  },
});

export const listSessionsRoute = createRoute({
  method: "get",
  path: "/me/sessions",
  tags,
  summary: "The caller's live sessions, most recently used first",
  security: bearer,
  middleware: [requireAuthAllowUnverified] as const,
  responses: {
    200: success(
      "Sessions",
      lazySchema(() => z.array(Session).max(100)),
    ),
    ...failures(...SIGNED_IN),
  },
});

export const revokeSessionRoute = createRoute({
  method: "delete",
  path: "/me/sessions/{id}",
  tags,
  summary: "Revoke one of the caller's sessions",
  description: "Anyone else's session id answers 404, like an unknown one.",
  security: bearer,
  middleware: [requireAuthAllowUnverifiedInWrite] as const,
  request: { params: idParam },
  responses: { 200: success("Session revoked"), ...failures(...SIGNED_IN, ...INPUT, "NOT_FOUND") },
});
