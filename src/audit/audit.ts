import type { SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { insertWhere } from "../db/insert-where";
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
  | "email_change_request"
  | "role_change"
  | "status_change"
  | "user_update"
  | "user_delete"
  | "session_revoke"
  | "post_update"
  | "post_delete"
  | "comment_update"
  | "comment_delete"
  | "mfa_enable"
  | "mfa_disable"
  | "mfa_reset"
  | "mfa_failure"
  | "recovery_code_used"
  | "recovery_codes_regenerated"
  | "reauthenticate"
  | "account_reclaimed"
  | "oauth_login"
  | "identity_link"
  | "identity_unlink"
  | "passkey_add"
  | "passkey_remove"
  | "passkey_login";

export type AuditEntry = {
  action: AuditAction;
  actorId?: string | null;
  targetId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
};

const auditRow = (entry: AuditEntry) => ({
  id: crypto.randomUUID(),
  action: entry.action,
  actorId: entry.actorId ?? null,
  targetId: entry.targetId ?? null,
  ip: entry.ip ?? null,
  details: entry.details ?? null,
  createdAt: new Date().toISOString(),
});

/**
 * An insert into the audit trail, returned unexecuted so callers put it in the
 * same `db.batch` as the change it records: both land or neither does.
 */
export const auditInsert = (db: Db, entry: AuditEntry) => db.insert(auditEvents).values(auditRow(entry));

/**
 * `auditInsert` for a change that may be refused by its own WHERE clause (the
 * last-admin rule, a session that is not the caller's): an
 * `INSERT … SELECT … WHERE condition`. Put it in the batch before the change,
 * with the change's condition: both then see the same state inside the batch's
 * transaction, so the event is written exactly when the change happens.
 */
export const auditInsertWhere = (db: Db, entry: AuditEntry, condition: SQL) =>
  insertWhere(db, auditEvents, auditRow(entry), condition);
