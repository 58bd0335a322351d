import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { AppError } from "../../http/errors";
import { deliverAfterResponse } from "../../mail/deliver";
import { passkeyChangedNotice } from "../../mail/templates";
import { passkeyConfig } from "./config";
import type { PasskeyDeps } from "./deps";

/**
 * The passkey services' dependencies for a request. `503 MISCONFIGURED` when
 * no RP ID can be known (no WEBAUTHN_RP_ID and no APP_URL): it is never taken
 * from the request's Host header, which the sender chooses.
 */
export function passkeyDepsOf(c: Context<AppEnv>): PasskeyDeps {
  const { db, config } = c.var;
  const rp = passkeyConfig(config);
  if (!rp) throw new AppError(503, "MISCONFIGURED", "Server misconfigured: WEBAUTHN_RP_ID is not set");
  return { db, config: rp, decoyKey: config.JWT_SECRET };
}

/**
 * Tells the account's address that a passkey was added or removed. Not under
 * `takeMailQuota`: each follows a step-up-proven action of the owner. Nothing
 * the user typed (the passkey's name) goes into it.
 */
export const sendPasskeyNotice = (
  c: Context<AppEnv>,
  user: { id: string; email: string },
  change: "added" | "removed",
) =>
  deliverAfterResponse(c, { kind: `passkey_${change}`, userId: user.id }, async () =>
    passkeyChangedNotice(user.email, change),
  );
