import * as z from "zod";
import { ROLES, USER_STATUSES } from "../db/schema";
import { pageQuery } from "../http/pagination";
import { emailField, passwordField, usernameField } from "./fields";

export const USER_SORTS = ["createdAt", "-createdAt", "username", "email"] as const;

export const userListQuery = pageQuery.extend({
  // An empty search box means no filter; nothing longer than an email could match.
  q: z
    .string()
    .max(254, "q must be at most 254 characters")
    .optional()
    .transform((q) => q || undefined),
  role: z.enum(ROLES).optional(),
  status: z.enum(USER_STATUSES).optional(),
  sort: z.enum(USER_SORTS).default("-createdAt"),
});

export type UserListFilter = Omit<z.infer<typeof userListQuery>, "page" | "limit">;

const atLeastOneField = (body: object) => Object.values(body).some((v) => v !== undefined);
const NOTHING_TO_CHANGE = "Send at least one field to change";

/** PUT replaces the profile: both fields are required. Role and status are never part of it. */
export const putUserBody = z.strictObject({ username: usernameField, email: emailField });

/** `role` and `status` are accepted by the schema but only an admin may send them (checked in the route). */
export const patchUserBody = z
  .strictObject({
    username: usernameField.optional(),
    email: emailField.optional(),
    role: z.enum(ROLES).optional(),
    status: z.enum(USER_STATUSES).optional(),
  })
  .refine(atLeastOneField, NOTHING_TO_CHANGE);

export const patchMeBody = z
  .strictObject({ username: usernameField.optional(), email: emailField.optional() })
  .refine(atLeastOneField, NOTHING_TO_CHANGE);

export const deleteMeBody = z.strictObject({ password: passwordField });
