import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../auth/guard";
import { requirePermission } from "../auth/permissions";
import { AuditEvent } from "../openapi/resources";
import { failures, INPUT, PERMITTED, page } from "../openapi/responses";
import { bearer } from "../openapi/router";
import { auditListQuery } from "./schemas";

export const auditListRoute = createRoute({
  method: "get",
  path: "/audit",
  tags: ["User management"],
  summary: "The security audit trail, newest first",
  description:
    "`userId` keeps events where that user acted or was acted upon; `action` keeps one kind of event.\n\nRequires a bearer access token of an admin.",
  security: bearer,
  middleware: [requireAuth, requirePermission("audit:read")] as const,
  request: { query: auditListQuery },
  responses: { 200: page("Audit events", AuditEvent), ...failures(...PERMITTED, ...INPUT) },
});
