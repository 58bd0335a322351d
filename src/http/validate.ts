import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type * as z from "zod";
import { validationError } from "./errors";

/**
 * Throws the project's failure envelope for zod issues: every issue becomes a
 * `{ path, message }` detail so a client can point at the offending field.
 * The validation hook of every router (src/openapi/router.ts).
 */
export function validationIssues(issues: readonly z.core.$ZodIssue[], target: keyof ValidationTargets): never {
  throw validationError(
    issues.flatMap((issue) => {
      const path = issue.path.map(String);
      // One detail per unknown field, at that field's path, so a client can point at it.
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({ path: [...path, key].join("."), message: `Unknown field: ${key}` }));
      }
      return [{ path: path.length ? path.join(".") : target, message: issue.message }];
    }),
  );
}

/**
 * `zValidator` with the same envelope, for a route outside the OpenAPI
 * routers. Routes of the API are declared with `createRoute` instead
 * (see "How to add a route" in the README), which validates with the hook above.
 */
export const validate = <Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) =>
  zValidator(target, schema, (result) => {
    if (!result.success) validationIssues(result.error.issues, target);
  });
