import { auditListQuery } from "../../audit/routes";
import { PERMISSIONS } from "../../auth/permissions";
import type { Operation } from "../operation";

export const auditOperations: Operation[] = [
  {
    method: "get",
    path: "/audit",
    tag: "User management",
    summary: "The security audit trail, newest first",
    description: "`userId` keeps events where that user acted or was acted upon; `action` keeps one kind of event.",
    auth: { roles: PERMISSIONS["audit:read"] },
    query: auditListQuery,
    success: { status: 200, description: "Audit events", list: "AuditEvent" },
  },
];
