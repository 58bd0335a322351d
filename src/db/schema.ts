import { sql } from "drizzle-orm";
import { customType, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Text compared case-insensitively. A unique index on such a column makes
 * "Alice" and "alice" the same username, and `LIKE 'ali%'` prefix searches on
 * it can use the index instead of scanning the table.
 */
const caseInsensitiveText = customType<{ data: string }>({
  dataType: () => "text COLLATE NOCASE",
});

/** Timestamps are ISO-8601 UTC strings: they sort correctly as text and go out as they are. */
const timestamp = (name: string) => text(name);
const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const ROLES = ["user", "moderator", "admin"] as const;
export type Role = (typeof ROLES)[number];
export const USER_STATUSES = ["active", "suspended"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: caseInsensitiveText("username").notNull(),
    email: caseInsensitiveText("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: ROLES }).notNull().default("user"),
    status: text("status", { enum: USER_STATUSES }).notNull().default("active"),
    emailVerifiedAt: timestamp("email_verified_at"),
    failedLoginCount: integer("failed_login_count").notNull().default(0),
    lockedUntil: timestamp("locked_until"),
    createdAt: timestamp("created_at").notNull().default(now),
    updatedAt: timestamp("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("users_username_unique").on(t.username),
    uniqueIndex("users_email_unique").on(t.email),
    index("users_created_at_idx").on(t.createdAt),
    index("users_role_status_idx").on(t.role, t.status),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    refreshTokenHash: text("refresh_token_hash").notNull(),
    previousRefreshTokenHash: text("previous_refresh_token_hash"),
    userAgent: text("user_agent"),
    ip: text("ip"),
    createdAt: timestamp("created_at").notNull().default(now),
    lastUsedAt: timestamp("last_used_at").notNull().default(now),
    expiresAt: timestamp("expires_at").notNull(),
    revokedAt: timestamp("revoked_at"),
  },
  (t) => [
    uniqueIndex("sessions_refresh_token_hash_unique").on(t.refreshTokenHash),
    index("sessions_previous_refresh_token_hash_idx").on(t.previousRefreshTokenHash),
    index("sessions_user_id_idx").on(t.userId, t.createdAt),
  ],
);

export const posts = sqliteTable(
  "posts",
  {
    id: text("id").primaryKey(),
    authorId: text("author_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: caseInsensitiveText("title").notNull(),
    content: text("content").notNull(),
    createdAt: timestamp("created_at").notNull().default(now),
    updatedAt: timestamp("updated_at").notNull().default(now),
    /** Kept exact by triggers on comments (migrations/0007_comment_counts.sql); never written by the app. */
    commentCount: integer("comment_count").notNull().default(0),
  },
  (t) => [
    index("posts_created_at_idx").on(t.createdAt, t.id),
    index("posts_author_created_at_idx").on(t.authorId, t.createdAt, t.id),
    index("posts_title_idx").on(t.title),
  ],
);

export const comments = sqliteTable(
  "comments",
  {
    id: text("id").primaryKey(),
    postId: text("post_id")
      .notNull()
      .references(() => posts.id, { onDelete: "cascade" }),
    authorId: text("author_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    content: text("content").notNull(),
    createdAt: timestamp("created_at").notNull().default(now),
    updatedAt: timestamp("updated_at").notNull().default(now),
  },
  (t) => [
    index("comments_post_created_at_idx").on(t.postId, t.createdAt, t.id),
    index("comments_author_idx").on(t.authorId),
  ],
);

/**
 * Security-relevant events. No foreign keys on purpose: the trail of a deleted
 * user must outlive the user.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    action: text("action").notNull(),
    actorId: text("actor_id"),
    targetId: text("target_id"),
    ip: text("ip"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at").notNull().default(now),
  },
  (t) => [
    index("audit_events_created_at_idx").on(t.createdAt, t.id),
    index("audit_events_target_idx").on(t.targetId, t.createdAt),
    index("audit_events_actor_idx").on(t.actorId, t.createdAt),
    index("audit_events_action_idx").on(t.action, t.createdAt),
  ],
);

/**
 * Row counts kept exact by triggers (migrations/0002_table_counts_triggers.sql),
 * including deletes by cascade. An unfiltered list reads its total here, one
 * row, instead of counting the whole table on every request.
 */
export const tableCounts = sqliteTable("table_counts", {
  tableName: text("table_name").primaryKey(),
  total: integer("total").notNull(),
});

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type PostRow = typeof posts.$inferSelect;
export type CommentRow = typeof comments.$inferSelect;
