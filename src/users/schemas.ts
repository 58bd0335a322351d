import * as z from "zod";
import { ROLES, USER_STATUSES } from "../db/schema";
import { pageQuery } from "../http/pagination";
import { lazySchema } from "../openapi/lazy-schema";
import { emailField, passwordField, usernameField } from "./fields";

export const USER_SORTS = ["createdAt", "-createdAt", "username", "email"] as const;

export const userListQuery = lazySchema(() =>
  pageQuery.extend({
    // An empty search box means no filter; nothing longer than an email could match.
    q: z
      .string()
      .max(254, "q must be at most 254 characters")
      .optional()
      .transform((q) => q || undefined),
    role: z.enum(ROLES).optional(),
    status: z.enum(USER_STATUSES).optional(),
    sort: z.enum(USER_SORTS).default("-createdAt"),
  }),
);

export type UserListFilter = Omit<z.infer<typeof userListQuery>, "page" | "limit">;

// `currentPassword` is proof, not a change.
const atLeastOneField = (body: object) =>
  Object.entries(body).some(([key, v]) => key !== "currentPassword" && key !== "code" && v !== undefined);
const NOTHING_TO_CHANGE = "Send at least one field to change";

/** Required (checked in updateUser) when the body changes the caller's own email; otherwise ignored. */
const currentPassword = lazySchema(() => passwordField.optional());
/** With MFA on, the authenticator code that goes with `currentPassword` (step-up). */
const code = lazySchema(() =>
  z
    .string()
    .regex(/^\d{6}$/, "code must be 6 digits")
    .optional(),
);

/** PUT replaces the profile: both fields are required. Role and status are never part of it. */
export const putUserBody = lazySchema(() =>
  z.strictObject({ username: usernameField, email: emailField, currentPassword, code }),
);

/** `role` and `status` are accepted by the schema but only an admin may send them (checked in the route). */
export const patchUserBody = lazySchema(() =>
  z
    .strictObject({
      username: usernameField.optional(),
      email: emailField.optional(),
      role: z.enum(ROLES).optional(),
      status: z.enum(USER_STATUSES).optional(),
      currentPassword,
      code,
    })
    .refine(atLeastOneField, NOTHING_TO_CHANGE)
    .meta({ minProperties: 1 }),
);

export const patchMeBody = lazySchema(() =>
  z
    .strictObject({ username: usernameField.optional(), email: emailField.optional(), currentPassword, code })
    .refine(atLeastOneField, NOTHING_TO_CHANGE)
    .meta({ minProperties: 1 }),
);

/** Step-up: `password` (+ `code` with MFA on), or neither within STEP_UP_TTL of POST /me/reauthenticate. */
export const deleteMeBody = lazySchema(() => z.strictObject({ password: passwordField.optional(), code }));

/** An admin deleting someone else sends no body; deleting oneself is DELETE /me, with its body (checked in the route). */
export const deleteUserBody = deleteMeBody;
