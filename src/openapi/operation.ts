import type * as z from "zod";
import type { Role } from "../db/schema";
import type { ErrorCode } from "../http/errors";

export type JsonSchema = Record<string, unknown>;

/**
 * Who may call an operation: anyone, any signed-in user, or only some roles
 * (`alsoOwner` when the owner of the resource may too, checked in the handler).
 */
export type Auth = "none" | "bearer" | { roles: readonly Role[]; alsoOwner?: string };

/** An error beyond those the auth, params, query and body already imply; a bare code uses its usual status. */
export type ErrorSpec = ErrorCode | { code: ErrorCode; status: number; when: string };

export type Success =
  | { status: 200 | 201; description: string; data?: JsonSchema; list?: string }
  | { html: string }
  /** JSON outside the envelope (only the OpenAPI document itself). */
  | { bareJson: string };

/**
 * One route as the document describes it. `path` is written as Hono mounts it
 * (`/user/:id`); `params`, `query` and `body` are the very zod objects the
 * route's validators use, so the document cannot drift from what is enforced.
 */
export type Operation = {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth: Auth;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /**
   * What the body schema's `.refine()` checks enforce, which JSON Schema cannot
   * read from zod (e.g. a length in code points): merged into the body's schema.
   */
  bodyRefinements?: { properties?: Record<string, JsonSchema>; minProperties?: number };
  success: Success;
  errors?: ErrorSpec[];
};

export const component = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `data: { <key>: <Component> }`, the contract's shape for a single object. */
export const single = (key: string, name: string): JsonSchema => ({
  type: "object",
  properties: { [key]: component(name) },
  required: [key],
});

/** `data: {}`, for answers that only confirm. */
export const empty: JsonSchema = { type: "object", description: "Empty: the message says what was done." };
