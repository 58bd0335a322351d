import { env } from "cloudflare:workers";
import { decode } from "hono/jwt";
import type { Session } from "./api";

/** The session id an access token names. */
export const sessionIdOf = (session: Pick<Session, "accessToken">) => decode(session.accessToken).payload.sid as string;

export type SessionDbRow = {
  id: string;
  user_id: string;
  refresh_token_hash: string;
  previous_refresh_token_hash: string | null;
  created_at: string;
  expires_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
};

export const sessionRow = (id: string) =>
  env.DB.prepare("select * from sessions where id = ?").bind(id).first<SessionDbRow>();

const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

/**
 * Moves one of a session's clocks into the past, as if that much time had
 * passed: `created_at` (its absolute age), `rotated_at` (the reuse grace) or
 * `expires_at` (its sliding expiry; a positive `secondsAgo` puts it behind us).
 */
export const backdateSession = (id: string, column: "created_at" | "rotated_at" | "expires_at", seconds: number) =>
  env.DB.prepare(`update sessions set ${column} = ? where id = ?`).bind(secondsAgo(seconds), id).run();

export const auditCount = async (targetId: string, action: string) =>
  (await env.DB.prepare("select count(*) as n from audit_events where target_id = ? and action = ?")
    .bind(targetId, action)
    .first<number>("n")) ?? 0;

export const markVerified = (userId: string) =>
  env.DB.prepare("update users set email_verified_at = ? where id = ?").bind(new Date().toISOString(), userId).run();
