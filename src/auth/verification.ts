import type { Context } from "hono";
import type { AppEnv } from "../env";
import { deliverAfterResponse, linkBase } from "../mail/deliver";
import { takeMailQuota } from "../mail/quota";
import { verificationEmail } from "../mail/templates";
import { issueEmailToken } from "./email-tokens";

/**
 * Issues a single-use email verification token bound to the user's current
 * email and mails the link, both after the response (waitUntil): neither a
 * KV hiccup nor a slow mail API can fail or slow the request that asked.
 * At most three per address per hour (`takeMailQuota`): past that the
 * request still succeeds and nothing is sent, so whoever controls the
 * account's email field cannot turn it into a mail cannon.
 */
export async function sendVerificationEmail(c: Context<AppEnv>, user: { id: string; email: string }): Promise<void> {
  const ttl = c.var.config.VERIFY_TOKEN_TTL;
  deliverAfterResponse(c, { kind: "verify_email", userId: user.id }, async () => {
    // After the response like the rest: a verified and an unverified account cost the same D1 work before it.
    if (!(await takeMailQuota(c, "verify", user.email))) return null;
    const token = await issueEmailToken(c.env.KV, "verify", { userId: user.id, boundTo: user.email }, ttl);
    return verificationEmail(user.email, `${linkBase(c)}/verify-email?token=${token}`, ttl);
  });
}
