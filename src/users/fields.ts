import * as z from "zod";
import { lazySchema } from "../openapi/lazy-schema";

/** Stored trimmed and lower-cased, so uniqueness and login ignore case and stray spaces. */
export const emailField = lazySchema(() =>
  z
    .string()
    .trim()
    .toLowerCase()
    .max(254, "Email must be at most 254 characters")
    .pipe(z.email({ error: "Invalid email" }))
    .meta({ format: "email", description: "Compared trimmed and lower-cased.", example: "ada@example.com" }),
);

export const usernameField = lazySchema(() =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,32}$/, "Username must be 3-32 characters of letters, digits, '_', '.' or '-'")
    .meta({ example: "ada_lovelace" }),
);

/** Length and strength rules depend on configuration and the account, so they are checked by `assertAcceptablePassword`. */
export const passwordField = lazySchema(() =>
  z.string().min(1, "Password is required").max(1024, "Password is too long"),
);

/**
 * A UUID in any case, normalised to the lower case in which ids are stored:
 * D1 compares text byte for byte, so `GET /posts/<ID IN CAPS>` would otherwise
 * pass validation and match nothing (or fail an ownership check).
 */
export const idField = (error = "Invalid id") => z.uuid({ error }).toLowerCase();

export const idParam = lazySchema(() => z.strictObject({ id: idField() }));
