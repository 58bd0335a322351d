import { sql } from "drizzle-orm";
import { customType, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
    /** Set when TOTP is confirmed, cleared when it is turned off: the guard reads MFA status without a join. */
    mfaEnabledAt: timestamp("mfa_enabled_at"),
    createdAt: timestamp("created_at").notNull().default(now),
    updatedAt: timestamp("updated_at").notNull().default(now),
    /** A requested, unconfirmed new address (migrations/0003_pending_email.sql); `email` stays in force until it is confirmed. */
    pendingEmail: caseInsensitiveText("pending_email"),
    pendingEmailExpiresAt: timestamp("pending_email_expires_at"),
    /** False for accounts made by social sign-in: their `password_hash` hashes 256 random bits nobody knows (migrations/0011_oauth.sql). */
    hasPassword: integer("has_password", { mode: "boolean" }).notNull().default(true),
    /** Kept exact by triggers (migrations/0010_perf_counters.sql): the content caps read one row, not one per post. */
    postCount: integer("post_count").notNull().default(0),
    commentCount: integer("comment_count").notNull().default(0),
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
    /** When this session last proved its user (sign-in or re-authentication), for step-up. */
    lastProofAt: timestamp("last_proof_at"),
    /** The `jti` of the access token that made the last re-authentication: only that token carries it (M1). */
    lastProofJti: text("last_proof_jti"),
    /** The factors the sign-in used, comma-separated (`pwd`, `otp`, `recovery`), like OIDC's `amr`. */
    amr: text("amr"),
    /** When the current refresh token was issued (the previous one's grace runs from here). */
    rotatedAt: timestamp("rotated_at"),
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
    // Who last edited it and when (null until edited). No foreign key, like the audit trail:
    // a moderator's trace outlives the moderator's account.
    editedBy: text("edited_by"),
    editedAt: timestamp("edited_at"),
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
    editedBy: text("edited_by"),
    editedAt: timestamp("edited_at"),
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
 * One TOTP secret per user, AES-GCM encrypted (src/auth/totp/secret-box.ts).
 * `confirmed_at` null means an enrolment still pending. `last_used_step` makes
 * each code single use; `recovery_set_id` names the live set of recovery codes.
 */
export const totpCredentials = sqliteTable("totp_credentials", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  secretCiphertext: text("secret_ciphertext").notNull(),
  confirmedAt: timestamp("confirmed_at"),
  lastUsedStep: integer("last_used_step"),
  recoverySetId: text("recovery_set_id"),
  createdAt: timestamp("created_at").notNull().default(now),
});

/** Single-use recovery codes, stored only as keyed hashes; only the set named by the credential counts. */
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    setId: text("set_id").notNull(),
    createdAt: timestamp("created_at").notNull().default(now),
  },
  (t) => [index("recovery_codes_user_set_idx").on(t.userId, t.setId)],
);

/**
 * The login mfaToken between the password and the second factor: stored as a
 * SHA-256 hash, bound to the password hash it was issued against (kept as is
 * so the claim can compare it in SQL; the same hash is in `users` anyway).
 * `attempts` counts codes compared against it, reserved before each compare.
 * `first_factor` is what the first step proved (`pwd`, `email` for an email
 * code, `oauth` for a social sign-in), so the session's `amr` says which factors it really rests on.
 */
export const mfaChallenges = sqliteTable(
  "mfa_challenges",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    passwordHash: text("password_hash").notNull(),
    attempts: integer("attempts").notNull().default(0),
    expiresAt: timestamp("expires_at").notNull(),
    createdAt: timestamp("created_at").notNull().default(now),
    firstFactor: text("first_factor", { enum: ["pwd", "email", "oauth"] })
      .notNull()
      .default("pwd"),
  },
  (t) => [index("mfa_challenges_user_id_idx").on(t.userId), index("mfa_challenges_expires_at_idx").on(t.expiresAt)],
);

/**
 * Failed password checks, keyed by the normalised email whether or not an
 * account has it, so a locked real account and an unknown email look alike.
 * `scope` is `account` (every failure for the email), `net:<network>` (one
 * IPv4 address or IPv6 /64) or `session:<id>` (proofs on one session). A row
 * counts until `expires_at`, after which the next failure starts it afresh.
 */
export const loginFailures = sqliteTable(
  "login_failures",
  {
    email: text("email").notNull(),
    scope: text("scope").notNull(),
    failures: integer("failures").notNull().default(0),
    expiresAt: timestamp("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.email, t.scope] }), index("login_failures_expires_at_idx").on(t.expiresAt)],
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

/**
 * Mails sent per kind and recipient in the current hourly window
 * (src/mail/quota.ts). The address is stored only as its SHA-256. One
 * conditional upsert counts a send and refuses it past the cap, so parallel
 * requests cannot overrun it.
 */
export const mailQuota = sqliteTable(
  "mail_quota",
  {
    kind: text("kind").notNull(),
    addressHash: text("address_hash").notNull(),
    /** Unix seconds when the current window began. */
    windowStart: integer("window_start").notNull(),
    sent: integer("sent").notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.addressHash] })],
);

/**
 * Social sign-in identities (src/auth/oauth/): one (provider, subject) belongs
 * to at most one account; an account may have several. `email` is what the
 * provider said when the identity was linked, for the owner's list only:
 * sign-in always goes by (provider, subject), never by email.
 */
export const oauthIdentities = sqliteTable(
  "oauth_identities",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    subject: text("subject").notNull(),
    email: text("email"),
    createdAt: timestamp("created_at").notNull().default(now),
    lastUsedAt: timestamp("last_used_at"),
  },
  (t) => [
    uniqueIndex("oauth_identities_provider_subject_unique").on(t.provider, t.subject),
    index("oauth_identities_user_id_idx").on(t.userId),
  ],
);

/**
 * A browser sign-in between `/oauth/:provider/authorize` and its callback:
 * the `state` (stored only as SHA-256), the PKCE verifier and OIDC nonce of
 * the hop to the provider, and the SPA's redirect and PKCE challenge for the
 * hop back. `link_user_id` set means the callback links to that account
 * instead of signing in. Claimed once with DELETE … RETURNING; 10 minutes.
 */
export const oauthStates = sqliteTable(
  "oauth_states",
  {
    stateHash: text("state_hash").primaryKey(),
    provider: text("provider").notNull(),
    codeVerifier: text("code_verifier").notNull(),
    nonce: text("nonce"),
    redirectUri: text("redirect_uri").notNull(),
    codeChallenge: text("code_challenge").notNull(),
    linkUserId: text("link_user_id").references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at").notNull(),
    createdAt: timestamp("created_at").notNull().default(now),
  },
  // The user index serves the cascade when an account is deleted (no full scan per deletion).
  (t) => [
    index("oauth_states_expires_at_idx").on(t.expiresAt),
    index("oauth_states_link_user_id_idx").on(t.linkUserId),
  ],
);

/**
 * The one-time login code the callback hands to the SPA in its redirect
 * (SHA-256 only, 60 s, single use), redeemable only with the verifier of the
 * SPA's PKCE challenge, so a code read from a URL is useless on its own.
 */
export const oauthLoginCodes = sqliteTable(
  "oauth_login_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    codeChallenge: text("code_challenge").notNull(),
    expiresAt: timestamp("expires_at").notNull(),
    createdAt: timestamp("created_at").notNull().default(now),
    /** `sign_in` (redeemed at POST /oauth/token) or `link` (at POST /me/identities, by `user_id` only). */
    purpose: text("purpose", { enum: ["sign_in", "link"] })
      .notNull()
      .default("sign_in"),
    /** A link code carries the identity the provider asserted, linked only when the code is redeemed. */
    subject: text("subject"),
    email: text("email"),
    emailVerified: integer("email_verified", { mode: "boolean" }),
  },
  (t) => [
    index("oauth_login_codes_expires_at_idx").on(t.expiresAt),
    index("oauth_login_codes_user_id_idx").on(t.userId),
  ],
);

/** The opaque WebAuthn user handle of an account (never its id or email), made on its first passkey options. */
export const webauthnUserHandles = sqliteTable(
  "webauthn_user_handles",
  {
    userId: text("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    handle: text("handle").notNull(),
  },
  (t) => [uniqueIndex("webauthn_user_handles_handle_unique").on(t.handle)],
);

/**
 * Registered passkeys (src/auth/passkeys/). `id` is the credential id and
 * `public_key` the COSE key, both base64url; `counter` is the last signature
 * counter seen (0 for authenticators that keep none).
 */
export const passkeyCredentials = sqliteTable(
  "passkey_credentials",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    publicKey: text("public_key").notNull(),
    algorithm: integer("algorithm").notNull(),
    counter: integer("counter").notNull().default(0),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull().default(false),
    deviceType: text("device_type", { enum: ["singleDevice", "multiDevice"] }).notNull(),
    transports: text("transports", { mode: "json" }).$type<string[]>(),
    createdAt: timestamp("created_at").notNull().default(now),
    lastUsedAt: timestamp("last_used_at"),
  },
  (t) => [index("passkey_credentials_user_id_idx").on(t.userId)],
);

/**
 * WebAuthn challenges, single use (claimed by DELETE … RETURNING) and living
 * 5 minutes. `purpose` is `register` (then `user_id` is the account) or
 * `login` (`user_id` is the account the email named, or null).
 */
export const webauthnChallenges = sqliteTable(
  "webauthn_challenges",
  {
    id: text("id").primaryKey(),
    purpose: text("purpose", { enum: ["register", "login"] }).notNull(),
    challenge: text("challenge").notNull(),
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at").notNull(),
    /** A registration challenge's session and access token (`jti`): only the caller that asked may use it. */
    sessionId: text("session_id"),
    tokenId: text("token_id"),
  },
  // user_id is indexed so deleting a user (ON DELETE CASCADE) does not scan the table.
  (t) => [
    index("webauthn_challenges_expires_at_idx").on(t.expiresAt),
    index("webauthn_challenges_user_id_idx").on(t.userId),
  ],
);

/**
 * One-time email login codes (src/auth/email-code/), one live code per
 * address, keyed by SHA-256 of the address whether or not an account has it
 * (`user_id` null then). The code is kept only as a keyed hash.
 */
export const emailLoginCodes = sqliteTable(
  "email_login_codes",
  {
    emailHash: text("email_hash").primaryKey(),
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    attempts: integer("attempts").notNull().default(0),
    expiresAt: timestamp("expires_at").notNull(),
  },
  (t) => [
    index("email_login_codes_expires_at_idx").on(t.expiresAt),
    index("email_login_codes_user_id_idx").on(t.userId),
  ],
);

/**
 * Step-up codes mailed to an account without a password (POST
 * /me/reauthenticate/email-code): one live code per session, bound to the
 * session and the account that asked for it. Kept apart from
 * `email_login_codes` so a login code can never prove presence and a
 * step-up code can never sign in.
 */
export const stepUpCodes = sqliteTable(
  "step_up_codes",
  {
    sessionId: text("session_id")
      .primaryKey()
      .references(() => sessions.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    attempts: integer("attempts").notNull().default(0),
    expiresAt: timestamp("expires_at").notNull(),
  },
  (t) => [index("step_up_codes_expires_at_idx").on(t.expiresAt), index("step_up_codes_user_id_idx").on(t.userId)],
);

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type PostRow = typeof posts.$inferSelect;
export type CommentRow = typeof comments.$inferSelect;
