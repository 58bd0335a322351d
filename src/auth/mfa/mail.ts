import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { deliverAfterResponse } from "../../mail/deliver";
import { mfaDisabledNotice, mfaEnabledNotice, recoveryCodeUsedNotice } from "../../mail/templates";

/**
 * Tells the account's own (verified or current) address about an MFA change.
 * No link and nothing a user typed. Not under `takeMailQuota`: each notice
 * follows a proven action of the owner or an admin (at most 10 recovery codes
 * a set), so it cannot be used to flood an address.
 */
export function sendMfaNotice(
  c: Context<AppEnv>,
  user: { id: string; email: string },
  kind: "enabled" | "disabled" | "recovery_code_used",
  remaining = 0,
  byAdmin = false,
) {
  deliverAfterResponse(c, { kind: `mfa_${kind}`, userId: user.id }, async () => {
    if (kind === "enabled") return mfaEnabledNotice(user.email);
    if (kind === "disabled") return mfaDisabledNotice(user.email, byAdmin);
    return recoveryCodeUsedNotice(user.email, remaining);
  });
}
