import type { Context } from "hono";
import { issueEmailToken } from "../auth/email-tokens";
import type { AppEnv } from "../env";
import { deliverAfterResponse, linkBase } from "../mail/deliver";
import { takeMailQuota } from "../mail/quota";
import { emailChangedNotice, emailChangeRequestedNotice, emailChangeVerificationEmail } from "../mail/templates";
import { pendingBinding } from "./binding";

/**
 * Mails the confirmation link for a pending change to the new address. The
 * token is bound to that pending address, so a newer request or a
 * cancellation kills it. Within the per-address `email_change` budget only,
 * taken after the response like the mail itself, so the request waits on neither.
 */
export function sendEmailChangeVerification(c: Context<AppEnv>, userId: string, newEmail: string, ttl: number) {
  deliverAfterResponse(c, { kind: "email_change_verify", userId }, async () => {
    if (!(await takeMailQuota(c, "email_change", newEmail))) return null;
    const token = await issueEmailToken(c.env.KV, "verify", { userId, boundTo: pendingBinding(newEmail) }, ttl);
    return emailChangeVerificationEmail(newEmail, `${linkBase(c)}/verify-email?token=${token}`, ttl);
  });
}

/**
 * Tells the address an account is (or was) using that its email is being or
 * has been changed. Carries no token and nothing the requester typed: the
 * owner of that address learns of the change without the mail becoming a
 * way back in or a channel for someone else's words.
 */
export function sendEmailChangeNotice(
  c: Context<AppEnv>,
  userId: string,
  address: string,
  stage: "requested" | "done",
) {
  const compose = stage === "requested" ? emailChangeRequestedNotice : emailChangedNotice;
  deliverAfterResponse(c, { kind: `email_change_${stage}`, userId }, async () =>
    (await takeMailQuota(c, "email_change", address)) ? compose(address) : null,
  );
}
