import type { Context } from "hono";
import type { AppEnv } from "../env";

/**
 * Issues a single-use email verification token for the user's current email
 * and mails the link after the response (waitUntil).
 *
 * STUB: the email-flows work (issue 3) implements it.
 */
export async function sendVerificationEmail(
  _c: Context<AppEnv>,
  _user: { id: string; email: string; username: string },
): Promise<void> {}
