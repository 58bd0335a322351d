import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { deliverAfterResponse } from "../../mail/deliver";
import { identityLinkedNotice } from "../../mail/templates";

/**
 * Tells the account's address that a provider can now sign in to it, after
 * the response. Not under `takeMailQuota`: each notice follows a completed
 * link, and an identity links once.
 */
export function sendIdentityLinkedNotice(
  c: Context<AppEnv>,
  user: { id: string; email: string },
  providerName: string,
) {
  deliverAfterResponse(c, { kind: "identity_linked", userId: user.id }, async () =>
    identityLinkedNotice(user.email, providerName),
  );
}
