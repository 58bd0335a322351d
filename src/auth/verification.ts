import type { Context } from "hono";
import type { AppEnv } from "../env";
import { deliverAfterResponse, linkBase } from "../mail/deliver";
import { verificationEmail } from "../mail/templates";
import { issueEmailToken } from "./email-tokens";

/**
 * Issues a single-use email verification token bound to the user's current
 * email and mails the link, both after the response (waitUntil): neither a
 * KV hiccup nor a slow mail API can fail or slow the request that asked.
 */
export async function sendVerificationEmail(c: Context<AppEnv>, user: { id: string; email: string }): Promise<void> {
  const ttl = c.var.config.VERIFY_TOKEN_TTL;
  deliverAfterResponse(c, { kind: "verify_email", userId: user.id }, async () => {
    const token = await issueEmailToken(c.env.KV, "verify", { userId: user.id, boundTo: user.email }, ttl);
    return verificationEmail(user.email, `${linkBase(c)}/verify-email?token=${token}`, ttl);
  });
}
