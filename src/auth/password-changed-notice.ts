import type { Context } from "hono";
import type { AppEnv } from "../env";
import { deliverAfterResponse, linkBase } from "../mail/deliver";
import { passwordChangedNotice } from "../mail/templates";

/**
 * Tells the account's address that its password changed, after the response
 * (L2: the owner learns of a change made by someone else). No token, no
 * password, nothing the user typed. Not under `takeMailQuota`: each notice
 * follows a completed change, which itself needs the password or a reset link.
 */
export function sendPasswordChangedNotice(c: Context<AppEnv>, user: { id: string; email: string }) {
  const at = new Date();
  deliverAfterResponse(c, { kind: "password_changed", userId: user.id }, async () =>
    passwordChangedNotice(user.email, at, `${linkBase(c)}/`),
  );
}
