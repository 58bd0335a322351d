import * as z from "zod";
import { emailField, passwordField, usernameField } from "../users/fields";

export const registerBody = z.strictObject({
  username: usernameField,
  email: emailField,
  // The real rules depend on configuration and the account (`assertAcceptablePassword`), so they are documented here.
  password: passwordField.meta({
    minLength: 12,
    description:
      "At least `PASSWORD_MIN_LENGTH` characters (default 12), at most 72 UTF-8 bytes, not a common password and not the email or username.",
    example: "correct horse battery staple",
  }),
});

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

const tokenField = z.string().min(1, "Token is required").max(512, "Token is too long");
export const forgotBody = z.strictObject({ email: emailField });
export const resetBody = z.strictObject({ token: tokenField, password: passwordField });
export const verifyBody = z.strictObject({ token: tokenField });
export const changePasswordBody = z.strictObject({
  currentPassword: passwordField,
  newPassword: passwordField,
  /** Required when MFA is on, unless this session re-authenticated within STEP_UP_TTL. */
  code: z
    .string()
    .regex(/^\d{6}$/, "code must be 6 digits")
    .optional(),
});
/** Takes no body: an `{ email }` naming someone else is refused, not silently ignored. */
export const noBody = z.strictObject({});
