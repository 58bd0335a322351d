import * as z from "zod";

/** Stored trimmed and lower-cased, so uniqueness and login ignore case and stray spaces. */
export const emailField = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "Email must be at most 254 characters")
  .pipe(z.email({ error: "Invalid email" }));

export const usernameField = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,32}$/, "Username must be 3-32 characters of letters, digits, '_', '.' or '-'");

/** Length and strength rules depend on configuration and the account, so they are checked by `assertAcceptablePassword`. */
export const passwordField = z.string().min(1, "Password is required").max(1024, "Password is too long");

export const idParam = z.strictObject({ id: z.uuid({ error: "Invalid id" }) });
