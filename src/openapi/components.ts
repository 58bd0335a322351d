import * as z from "zod";
import { ERROR_CODE_NAMES, ERROR_CODES } from "./error-codes";
import { component, type JsonSchema } from "./operation";
import { resources } from "./resources";

/**
 * Converts a zod schema as a client must send it (before defaults and
 * transforms). A pipe's input side alone would lose what its output side
 * checks, so a string piped into an email keeps `format: email`, a query
 * string piped into a number says its range, and a default shows as sent.
 */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      if (def.type === "pipe" && jsonSchema.type === "string") {
        const out = z.toJSONSchema(def.out, { io: "output", unrepresentable: "any" });
        if (out.format && !jsonSchema.format) jsonSchema.format = out.format;
        if (out.type === "number" || out.type === "integer") {
          const range = [
            out.minimum !== undefined && `at least ${out.minimum}`,
            out.maximum !== undefined && `at most ${out.maximum}`,
          ].filter(Boolean);
          jsonSchema.description ??= `A number${range.length ? `, ${range.join(" and ")}` : ""}.`;
        }
      }
      if (def.type === "default" && jsonSchema.default === undefined) {
        jsonSchema.default = jsonSchema.type === "string" ? String(def.defaultValue) : def.defaultValue;
      }
    },
  }) as JsonSchema;
  return json;
}

const envelopeSchemas: Record<string, JsonSchema> = {
  Success: {
    type: "object",
    description: "Every successful answer. Lists put the items in `data` and the pagination in `meta`.",
    properties: {
      status: { const: "success" },
      statusCode: { type: "integer" },
      message: { type: "string" },
      data: {},
      meta: component("PageMeta"),
    },
    required: ["status", "statusCode", "message", "data"],
  },
  Failure: {
    type: "object",
    description: "Every error, including 404 for unknown routes and 500.",
    properties: {
      status: { const: "failed" },
      statusCode: { type: "integer" },
      message: { type: "string" },
      error: {
        type: "object",
        properties: {
          code: component("ErrorCode"),
          details: { type: "array", items: component("ErrorDetail") },
        },
        required: ["code"],
      },
    },
    required: ["status", "statusCode", "message", "error"],
  },
  ErrorDetail: {
    type: "object",
    properties: { path: { type: "string" }, message: { type: "string" } },
    required: ["path", "message"],
  },
  ErrorCode: {
    type: "string",
    enum: ERROR_CODE_NAMES,
    description: ERROR_CODE_NAMES.map(
      (code) => `- \`${code}\` (${ERROR_CODES[code].status}): ${ERROR_CODES[code].when}`,
    ).join("\n"),
  },
};

const headerComponents: Record<string, JsonSchema> = {
  RequestId: {
    description: "Echo of a safe client `X-Request-Id`, otherwise a fresh id; quote it when reporting a problem.",
    schema: { type: "string" },
  },
  RetryAfter: { description: "Seconds to wait before trying again.", schema: { type: "integer" } },
  WwwAuthenticate: { description: '`Bearer realm="api"`', schema: { type: "string" } },
};

/** The failure envelope narrowed to some codes at one status. */
export function failureSchema(status: number, codes: readonly string[]): JsonSchema {
  return {
    allOf: [
      component("Failure"),
      {
        properties: {
          statusCode: { const: status },
          error: { properties: { code: codes.length === 1 ? { const: codes[0] } : { enum: codes } } },
        },
      },
    ],
  };
}

/** Headers an error answer carries besides `X-Request-Id`. */
export function failureHeaders(codes: readonly string[]): Record<string, JsonSchema> {
  const headers: Record<string, JsonSchema> = { "X-Request-Id": { $ref: "#/components/headers/RequestId" } };
  if (codes.includes("UNAUTHORIZED")) headers["WWW-Authenticate"] = { $ref: "#/components/headers/WwwAuthenticate" };
  if (codes.includes("TOO_MANY_REQUESTS") || codes.includes("ACCOUNT_LOCKED")) {
    headers["Retry-After"] = { $ref: "#/components/headers/RetryAfter" };
  }
  return headers;
}

/** One reusable response per error code of the contract. */
const errorResponses = Object.fromEntries(
  ERROR_CODE_NAMES.map((code) => {
    const { status, when } = ERROR_CODES[code];
    return [
      code,
      {
        description: `\`${code}\`: ${when}`,
        headers: failureHeaders([code]),
        content: { "application/json": { schema: failureSchema(status, [code]) } },
      },
    ];
  }),
);

export function buildComponents() {
  const { schemas } = z.toJSONSchema(resources, {
    target: "draft-2020-12",
    io: "output",
    uri: (id) => `#/components/schemas/${id}`,
    // What the server sends needs no regex (`format` says it) and may gain fields later, so objects stay open.
    override: ({ jsonSchema }) => {
      if (jsonSchema.format) delete jsonSchema.pattern;
      if (jsonSchema.additionalProperties === false) delete jsonSchema.additionalProperties;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  const resourceSchemas = Object.fromEntries(
    Object.entries(schemas).map(([name, { $schema: _, $id: __, ...schema }]) => [name, schema]),
  );
  return {
    schemas: { ...envelopeSchemas, ...resourceSchemas },
    responses: errorResponses,
    headers: headerComponents,
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "The `accessToken` from /login or /refresh.",
      },
    },
  };
}
