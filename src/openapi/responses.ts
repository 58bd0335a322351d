import * as z from "zod";
import type { ErrorCode } from "../http/errors";
import { ERROR_CODE_NAMES, ERROR_CODES } from "./error-codes";
import { lazySchema } from "./lazy-schema";
import { Empty, PageMeta } from "./resources";

/**
 * Response declarations for `createRoute({ responses })`. Each is the zod
 * schema of the envelope around a resource, so the handler's `ok(...)` is
 * type-checked against it and /openapi.json describes the very same shape.
 */

const requestIdHeader = { "X-Request-Id": { $ref: "#/components/headers/RequestId" } };

const envelope = <const S extends number, D extends z.ZodType>(status: S, data: D) =>
  z.object({ status: z.literal("success"), statusCode: z.literal(status), message: z.string(), data });

/**
 * A JSON response whose schema is built when first read. Only the document generator reads it
 * (`npm run openapi`, the tests): the Worker validates requests, never responses, so building
 * a few thousand response schemas at startup was most of its startup CPU.
 */
const json = <T extends z.ZodType>(
  description: string,
  build: () => T,
  headers: Record<string, { $ref: string }> = requestIdHeader,
) => {
  let schema: T | undefined;
  return {
    description,
    headers,
    content: {
      "application/json": {
        get schema(): T {
          schema ??= build();
          return schema;
        },
      },
    },
  };
};

/** 200 with `data` (default: `{}`, for answers that only confirm). */
export const success = <D extends z.ZodType = typeof Empty>(description: string, data: D = Empty as unknown as D) =>
  json(description, () => envelope(200, data));

/** 201 with the created object in `data`. */
export const created = <D extends z.ZodType>(description: string, data: D) =>
  json(description, () => envelope(201, data));

/** 200 with a list in `data` and its pagination in `meta`. */
export const page = <I extends z.ZodType>(description: string, item: I) =>
  json(description, () => envelope(200, z.array(item)).extend({ meta: PageMeta }));

/** 200 with an HTML page. */
export const html = (description: string) => ({
  description,
  content: { "text/html": { schema: lazySchema(() => z.string()) } },
});

export const ErrorDetail = lazySchema(() =>
  z.object({ path: z.string(), message: z.string() }).meta({ id: "ErrorDetail" }),
);

export const ErrorCodeSchema = lazySchema(() =>
  z.enum(ERROR_CODE_NAMES).meta({
    id: "ErrorCode",
    description: ERROR_CODE_NAMES.map(
      (code) => `- \`${code}\` (${ERROR_CODES[code].status}): ${ERROR_CODES[code].when}`,
    ).join("\n"),
  }),
);

const failureEnvelope = <C extends z.ZodType>(status: number, code: C) =>
  z.object({
    status: z.literal("failed"),
    statusCode: z.literal(status),
    message: z.string(),
    error: z.object({
      code,
      details: z.array(ErrorDetail).max(20).optional(),
      detailsTotal: z
        .int()
        .optional()
        .describe("Present when more than 20 problems were found: how many, of which `details` shows the first 20."),
    }),
  });

/** The failure envelope with any code: every error, including 404 for unknown routes and 500. */
export const Failure = lazySchema(() =>
  failureEnvelope(500, ErrorCodeSchema)
    .extend({ statusCode: z.int() })
    .meta({ id: "Failure", description: "Every error, including 404 for unknown routes and 500." }),
);

/** What `requireAuth` can answer (`MFA_ENROLLMENT_REQUIRED`: see src/auth/step-up/mfa-policy.ts). */
export const SIGNED_IN = [
  "UNAUTHORIZED",
  "ACCOUNT_SUSPENDED",
  "EMAIL_NOT_VERIFIED",
  "MFA_ENROLLMENT_REQUIRED",
] as const;
/** What `requireAuth` plus a role or ownership check can answer. */
export const PERMITTED = [...SIGNED_IN, "FORBIDDEN"] as const;
/** What validated path params or a query string can answer. */
export const INPUT = ["VALIDATION_ERROR"] as const;
/** What step-up (`proveStepUp`: a password and, with MFA, a code or a recent re-authentication) can answer. */
export const STEP_UP = [
  "REAUTHENTICATION_REQUIRED",
  "INVALID_CREDENTIALS",
  "INVALID_MFA_CODE",
  "TOO_MANY_REQUESTS",
  "ACCOUNT_LOCKED",
] as const;
/** What a JSON body can answer (the `jsonBody` middleware, then the schema). */
export const JSON_BODY = ["VALIDATION_ERROR", "INVALID_JSON", "UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE"] as const;

/** A code at its usual status, or at another status with its own explanation. */
export type FailureSpec = ErrorCode | { code: ErrorCode; status: number; when: string };
type StatusOf<S> = S extends ErrorCode ? (typeof ERROR_CODES)[S]["status"] : S extends { status: infer N } ? N : never;
type FailureResponse = ReturnType<typeof json<typeof Failure>>;

/**
 * The error responses of a route, grouped by status: each names its codes in
 * the description and narrows `error.code` to them. `INTERNAL_ERROR` and
 * `MISCONFIGURED` are added, since any route can answer them.
 * Only the statuses are worked out when the route is declared: the descriptions, headers
 * and schemas are read by the document generator alone, so they are put together when first read.
 */
export function failures<const Specs extends readonly FailureSpec[]>(
  ...specs: Specs
): { [S in StatusOf<Specs[number] | "INTERNAL_ERROR" | "MISCONFIGURED">]: FailureResponse } {
  const all = [...specs, "INTERNAL_ERROR", "MISCONFIGURED"] as FailureSpec[];
  let grouped: Map<number, { code: ErrorCode; when: string }[]> | undefined;
  const responses: Record<number, FailureResponse> = {};
  const statuses = new Set(all.map((spec) => (typeof spec === "string" ? ERROR_CODES[spec].status : spec.status)));
  for (const status of [...statuses].sort((a, b) => a - b)) {
    let response: FailureResponse | undefined;
    const built = () => {
      grouped ??= groupByStatus(all);
      response ??= failureResponse(status, grouped.get(status) ?? []);
      return response;
    };
    responses[status] = {
      get description() {
        return built().description;
      },
      get headers() {
        return built().headers;
      },
      get content() {
        return built().content;
      },
    };
  }
  return responses as never;
}

function groupByStatus(specs: FailureSpec[]) {
  const byStatus = new Map<number, { code: ErrorCode; when: string }[]>();
  for (const spec of specs) {
    const { code, status, when } = typeof spec === "string" ? { code: spec, ...ERROR_CODES[spec] } : spec;
    const group = byStatus.get(status) ?? [];
    if (!group.some((g) => g.code === code)) group.push({ code, when });
    byStatus.set(status, group);
  }
  return byStatus;
}

function failureResponse(status: number, group: { code: ErrorCode; when: string }[]): FailureResponse {
  const codes = group.map((g) => g.code);
  const headers: Record<string, { $ref: string }> = { ...requestIdHeader };
  if (codes.includes("UNAUTHORIZED")) headers["WWW-Authenticate"] = { $ref: "#/components/headers/WwwAuthenticate" };
  if (codes.includes("TOO_MANY_REQUESTS") || codes.includes("ACCOUNT_LOCKED")) {
    headers["Retry-After"] = { $ref: "#/components/headers/RetryAfter" };
  }
  const schema = () => failureEnvelope(status, codes.length === 1 ? z.literal(codes[0]) : z.enum(codes));
  return json(
    group.map((g) => `\`${g.code}\`: ${g.when}`).join("\n\n"),
    schema as unknown as () => typeof Failure,
    headers,
  );
}
