import { OpenAPIHono } from "@hono/zod-openapi";
import type * as z from "zod";
import type { AppEnv } from "../env";
import { validationIssues } from "../http/validate";

/**
 * Every router of the API: an `OpenAPIHono` whose validation failures throw
 * the project's `VALIDATION_ERROR` envelope (one detail per issue, unknown
 * fields at their own path) instead of the library's `{ success: false }`.
 */
export const createRouter = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) validationIssues(result.error.issues, result.target);
    },
  });

/**
 * A JSON request body. Always `required`, so the schema runs even when no
 * body is sent (a missing body is validated as `{}`, never skipped); schemas
 * whose fields are all optional say in their description that it may be omitted.
 */
export const requestBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { "application/json": { schema } },
});

/** `security` of a route that needs `Authorization: Bearer <accessToken>`. */
export const bearer = [{ bearerAuth: [] }];
