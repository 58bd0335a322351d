import type { Db } from "../db/client";
import { auditEvents } from "../db/schema";

export type AuditAction =
  | "login_success"
  | "login_failure"
  | "logout"
  | "refresh_token_reuse"
  | "password_reset"
  | "password_change"
  | "email_verified"
  | "email_change"
  | "role_change"
  | "status_change"
  | "user_update"
  | "user_delete"
  | "session_revoke";

export type AuditEntry = {
  action: AuditAction;
  actorId?: string | null;
  targetId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
};

/**
 * An insert into the audit trail, returned unexecuted so callers put it in the
 * same `db.batch` as the change it records: both land or neither does.
 */
export const auditInsert = (db: Db, entry: AuditEntry) =>
  db.insert(auditEvents).values({
    id: crypto.randomUUID(),
    action: entry.action,
    actorId: entry.actorId ?? null,
    targetId: entry.targetId ?? null,
    ip: entry.ip ?? null,
    details: entry.details ?? null,
    createdAt: new Date().toISOString(),
  });
