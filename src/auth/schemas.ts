import * as z from "zod";
import { lazySchema } from "../openapi/lazy-schema";
import { emailField, passwordField, usernameField } from "../users/fields";

export const registerBody = lazySchema(() =>
  z.strictObject({
    username: usernameField,
    email: emailField,
    // The real rules depend on configuration and the account (`assertAcceptablePassword`), so they are documented here.
    password: passwordField.meta({
      minLength: 12,
      description:
        "At least `PASSWORD_MIN_LENGTH` characters (default 12), at most 72 UTF-8 bytes, not a common password and not the email or username.",
      example: "correct horse battery staple",
    }),
  }),
);

export const loginBody = lazySchema(() =>
  z.strictObject({
    email: emailField,
    password: passwordField,
    /** The Cloudflare Turnstile widget's token; needed only when the answer was `CHALLENGE_REQUIRED`. */
    turnstileToken: z.string().min(1).max(2048).optional(),
  }),
);

export const refreshBody = lazySchema(() => z.strictObject({ refreshToken: z.string().min(1).max(256) }));

export const logoutBody = lazySchema(() =>
  z.strictObject({
    refreshToken: z.string().min(1).max(256).optional(),
    all: z.boolean().optional(),
  }),
);

const tokenField = lazySchema(() => z.string().min(1, "Token is required").max(512, "Token is too long"));
export const forgotBody = lazySchema(() => z.strictObject({ email: emailField }));
export const resetBody = lazySchema(() => z.strictObject({ token: tokenField, password: passwordField }));
export const verifyBody = lazySchema(() => z.strictObject({ token: tokenField }));
export const changePasswordBody = lazySchema(() =>
  z.strictObject({
    currentPassword: passwordField,
    newPassword: passwordField,
    /** Required when MFA is on, unless this session re-authenticated within STEP_UP_TTL. */
    code: z
      .string()
      .regex(/^\d{6}$/, "code must be 6 digits")
      .optional(),
  }),
);
/** Takes no body: an `{ email }` naming someone else is refused, not silently ignored. */
export const noBody = lazySchema(() => z.strictObject({}));
