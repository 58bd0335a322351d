import * as z from "zod";
import { ROLES, USER_STATUSES } from "../db/schema";
import { lazySchema } from "./lazy-schema";

/**
 * The objects responses carry, written once. `.meta({ id })` makes each a
 * named component of /openapi.json, and route declarations use these very
 * schemas, so a handler cannot return a shape the document does not describe.
 */
const id = lazySchema(() => z.uuid());
const timestamp = lazySchema(() =>
  z.iso.datetime().meta({ description: "ISO-8601 UTC", example: "2026-01-31T12:00:00.000Z" }),
);
const author = lazySchema(() => z.object({ id, username: z.string() }));

export const User = lazySchema(() =>
  z
    .object({
      id,
      username: z.string(),
      email: z.email(),
      pendingEmail: z
        .email()
        .nullable()
        .describe("A requested new address, in force only once confirmed through POST /verify-email; null when none"),
      role: z.enum(ROLES),
      status: z.enum(USER_STATUSES),
      emailVerified: z.boolean(),
      mfaEnabled: z.boolean().describe("TOTP is on: login asks for a second factor"),
      createdAt: timestamp,
      updatedAt: timestamp,
    })
    .meta({ id: "User", description: "A user as its owner, a moderator or an admin sees it." }),
);

/** Set by an edit from someone other than the author (a moderator or admin); the author's own edits leave them. */
const moderation = () => ({
  editedBy: id.nullable().meta({ description: "Who last edited it, when that was not its author; null otherwise." }),
  editedAt: timestamp.nullable().meta({ description: "When that edit happened; null if never." }),
});

export const Post = lazySchema(() =>
  z
    .object({
      id,
      authorId: id,
      author,
      title: z.string(),
      content: z.string(),
      commentCount: z.int().min(0),
      createdAt: timestamp,
      updatedAt: timestamp,
      ...moderation(),
    })
    .meta({ id: "Post" }),
);

export const Comment = lazySchema(() =>
  z
    .object({
      id,
      postId: id,
      authorId: id,
      author,
      content: z.string(),
      createdAt: timestamp,
      updatedAt: timestamp,
      ...moderation(),
    })
    .meta({ id: "Comment" }),
);

export const Session = lazySchema(() =>
  z
    .object({
      id,
      createdAt: timestamp,
      lastUsedAt: timestamp,
      expiresAt: timestamp,
      userAgent: z.string().nullable(),
      current: z.boolean().meta({ description: "True for the session of the access token used to ask." }),
    })
    .meta({ id: "Session" }),
);

export const Tokens = lazySchema(() =>
  z
    .object({
      accessToken: z.string().meta({ description: "JWT (HS256) to send as `Authorization: Bearer …`." }),
      refreshToken: z.string().meta({ description: "Opaque; single use: every /refresh returns a new one." }),
      tokenType: z.literal("Bearer"),
      expiresIn: z.int().positive().meta({ description: "Seconds until the access token expires." }),
      user: User,
    })
    .meta({ id: "Tokens" }),
);

export const MfaRequired = lazySchema(() =>
  z
    .object({
      mfaRequired: z.literal(true),
      mfaToken: z.string().meta({ description: "Single use, 5 minutes, for POST /login/mfa." }),
      methods: z.array(z.enum(["totp", "recovery_code"])),
      expiresIn: z.int().positive().meta({ description: "Seconds the mfaToken lives." }),
    })
    .meta({ id: "MfaRequired", description: "The password was right and the account has MFA: no tokens yet." }),
);

export const PageMeta = lazySchema(() =>
  z
    .object({
      page: z.int().min(1),
      limit: z.int().min(1),
      total: z.int().min(0),
      totalPages: z.int().min(0),
      nextCursor: z.string().nullable().meta({
        description: "Send as `cursor` for the next page (same cost as page 1); null when this page is the last.",
      }),
    })
    .meta({ id: "PageMeta", description: "Pagination of a list." }),
);

export const AuditEvent = lazySchema(() =>
  z
    .object({
      id,
      action: z.string().meta({ description: "What happened, e.g. `login_failure`, `role_change`, `password_reset`." }),
      actorId: id.nullable(),
      targetId: id.nullable(),
      ip: z.string().nullable(),
      details: z.record(z.string(), z.unknown()).nullable(),
      createdAt: timestamp,
    })
    .meta({ id: "AuditEvent" }),
);

export const Health = lazySchema(() =>
  z.object({ status: z.literal("ok"), db: z.literal("ok") }).meta({ id: "Health" }),
);

/** `data: {}`, for answers whose message says what was done. */
export const Empty = lazySchema(() =>
  z.object({}).meta({ id: "Empty", description: "Empty: the message says what was done." }),
);
