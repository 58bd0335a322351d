import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type * as z from "zod";
import { validationError } from "./errors";

/**
 * `zValidator` with the project's failure envelope: every issue becomes a
 * `{ path, message }` detail so a client can point at the offending field.
 */
export const validate = <Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) =>
  zValidator(target, schema, (result) => {
    if (!result.success) {
      throw validationError(
        result.error.issues.flatMap((issue) => {
          const path = issue.path.map(String);
          // One detail per unknown field, at that field's path, so a client can point at it.
          if (issue.code === "unrecognized_keys") {
            return issue.keys.map((key) => ({ path: [...path, key].join("."), message: `Unknown field: ${key}` }));
          }
          return [{ path: path.length ? path.join(".") : target, message: issue.message }];
        }),
      );
    }
  });
