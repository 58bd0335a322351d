import { z } from "zod";
import { emailField, passwordField, usernameField } from "../users/fields";

export const registerBody = z.strictObject({ username: usernameField, email: emailField, password: passwordField });

export const loginBody = z.strictObject({
  email: emailField,
  password: passwordField,
  /** The Cloudflare Turnstile widget's token; needed only when the answer was `CHALLENGE_REQUIRED`. */
  turnstileToken: z.string().min(1).max(2048).optional(),
});

export const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(256) });

export const logoutBody = z.strictObject({
  refreshToken: z.string().min(1).max(256).optional(),
  all: z.boolean().optional(),
});
