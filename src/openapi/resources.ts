import * as z from "zod";
import { ROLES, USER_STATUSES } from "../db/schema";

/**
 * The objects responses carry, as the contract describes them. Requests are
 * documented from the validators' own schemas; responses have no validator, so
 * these are their single description (registered under their component names).
 */
export const resources = z.registry<{ id: string; description?: string }>();

const id = z.uuid();
const timestamp = z.iso.datetime().describe("ISO-8601 UTC");
const author = z.object({ id, username: z.string() });

const user = z.object({
  id,
  username: z.string(),
  email: z.email(),
  role: z.enum(ROLES),
  status: z.enum(USER_STATUSES),
  emailVerified: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
resources.add(user, { id: "User", description: "A user as its owner, a moderator or an admin sees it." });

const post = z.object({
  id,
  authorId: id,
  author,
  title: z.string(),
  content: z.string(),
  commentCount: z.int().min(0),
  createdAt: timestamp,
  updatedAt: timestamp,
});
resources.add(post, { id: "Post" });

const comment = z.object({
  id,
  postId: id,
  authorId: id,
  author,
  content: z.string(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
resources.add(comment, { id: "Comment" });

const session = z.object({
  id,
  createdAt: timestamp,
  lastUsedAt: timestamp,
  expiresAt: timestamp,
  userAgent: z.string().nullable(),
  current: z.boolean().describe("True for the session of the access token used to ask."),
});
resources.add(session, { id: "Session" });

const tokens = z.object({
  accessToken: z.string().describe("JWT (HS256) to send as `Authorization: Bearer …`."),
  refreshToken: z.string().describe("Opaque; single use: every /refresh returns a new one."),
  tokenType: z.literal("Bearer"),
  expiresIn: z.int().positive().describe("Seconds until the access token expires."),
  user,
});
resources.add(tokens, { id: "Tokens" });

const pageMeta = z.object({
  page: z.int().min(1),
  limit: z.int().min(1),
  total: z.int().min(0),
  totalPages: z.int().min(0),
});
resources.add(pageMeta, { id: "PageMeta", description: "Pagination of a list." });

const auditEvent = z.object({
  id,
  action: z.string().describe("What happened, e.g. `login_failure`, `role_change`, `password_reset`."),
  actorId: id.nullable(),
  targetId: id.nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  createdAt: timestamp,
});
resources.add(auditEvent, { id: "AuditEvent" });

const health = z.object({ status: z.literal("ok"), db: z.literal("ok") });
resources.add(health, { id: "Health" });
