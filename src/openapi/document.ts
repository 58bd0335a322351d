import type * as z from "zod";
import type { ErrorCode } from "../http/errors";
import { buildComponents, failureHeaders, failureSchema, inputSchema } from "./components";
import { ERROR_CODES } from "./error-codes";
import { type Auth, component, type ErrorSpec, type JsonSchema, type Operation } from "./operation";

/** Hono's `/user/:id` (optionally `:id{regex}`) as OpenAPI's `/user/{id}`. */
export const toOpenApiPath = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

const requestId = { "X-Request-Id": { $ref: "#/components/headers/RequestId" } };

/** Errors every route of its kind can return, so each operation lists only its own. */
function impliedErrors(op: Operation): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (op.auth !== "none") codes.push("UNAUTHORIZED", "ACCOUNT_SUSPENDED");
  if (typeof op.auth === "object") codes.push("FORBIDDEN");
  if (op.params || op.query || op.body) codes.push("VALIDATION_ERROR");
  if (op.body) codes.push("INVALID_JSON", "UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE");
  codes.push("INTERNAL_ERROR", "MISCONFIGURED");
  return codes;
}

function errorResponses(op: Operation) {
  const specs: Exclude<ErrorSpec, ErrorCode>[] = [...impliedErrors(op), ...(op.errors ?? [])].map((spec) =>
    typeof spec === "string" ? { code: spec, ...ERROR_CODES[spec] } : spec,
  );
  const byStatus = new Map<number, typeof specs>();
  for (const spec of specs) {
    const group = byStatus.get(spec.status) ?? [];
    if (!group.some((s) => s.code === spec.code)) group.push(spec);
    byStatus.set(spec.status, group);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const only = group[0];
    const usual = only && ERROR_CODES[only.code];
    if (group.length === 1 && only && usual?.status === status && usual.when === only.when) {
      responses[status] = { $ref: `#/components/responses/${only.code}` };
      continue;
    }
    const codes = group.map((s) => s.code);
    responses[status] = {
      description: group.map((s) => `\`${s.code}\`: ${s.when}`).join("\n\n"),
      headers: failureHeaders(codes),
      content: { "application/json": { schema: failureSchema(status, codes) } },
    };
  }
  return responses;
}

function successResponse(op: Operation) {
  const { success } = op;
  if ("html" in success) {
    return { 200: { description: success.html, content: { "text/html": { schema: { type: "string" } } } } };
  }
  if ("bareJson" in success) {
    return { 200: { description: success.bareJson, content: { "application/json": { schema: { type: "object" } } } } };
  }
  const data = success.list ? { type: "array", items: component(success.list) } : (success.data ?? { type: "object" });
  const schema = {
    allOf: [
      component("Success"),
      {
        properties: { statusCode: { const: success.status }, data },
        ...(success.list ? { required: ["meta"] } : {}),
      },
    ],
  };
  return {
    [success.status]: {
      description: success.description,
      headers: requestId,
      content: { "application/json": { schema } },
    },
  };
}

function parameters(schema: z.ZodType | undefined, location: "path" | "query") {
  if (!schema) return [];
  const json = inputSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === "path" || required.has(name),
      ...(description ? { description } : {}),
      schema: propertySchema,
    };
  });
}

function bodySchema(body: z.ZodType, refinements: Operation["bodyRefinements"] = {}) {
  const schema = inputSchema(body);
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, extra] of Object.entries(refinements.properties ?? {})) {
    if (!properties[name]) throw new Error(`bodyRefinements names "${name}", which the body schema does not have`);
    Object.assign(properties[name], extra);
  }
  if (refinements.minProperties) schema.minProperties = refinements.minProperties;
  return schema;
}

function authText(auth: Auth) {
  if (auth === "none") return "No authentication.";
  if (auth === "bearer") return "Requires a bearer access token.";
  const who = [...(auth.alsoOwner ? [auth.alsoOwner] : []), ...auth.roles].join(", ");
  return `Requires a bearer access token of: ${who}.`;
}

const operationId = (op: Operation) =>
  op.method +
  op.path
    .split(/[/.-]/)
    .filter(Boolean)
    .map((part) => (part.startsWith(":") ? `By${part.slice(1, 2).toUpperCase()}${part.slice(2)}` : part))
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

function describe(op: Operation) {
  return {
    operationId: operationId(op),
    tags: [op.tag],
    summary: op.summary,
    description: [op.description, authText(op.auth)].filter(Boolean).join("\n\n"),
    security: op.auth === "none" ? [] : [{ bearerAuth: [] }],
    ...(typeof op.auth === "object" ? { "x-roles": op.auth.roles } : {}),
    parameters: [...parameters(op.params, "path"), ...parameters(op.query, "query")],
    ...(op.body
      ? {
          requestBody: {
            required: !op.body.safeParse({}).success,
            content: { "application/json": { schema: bodySchema(op.body, op.bodyRefinements) } },
          },
        }
      : {}),
    responses: { ...successResponse(op), ...errorResponses(op) },
  };
}

export type Tag = { name: string; description: string };

/** The OpenAPI 3.1 document for the given operations. */
export function buildOpenApiDocument(operations: readonly Operation[], tags: readonly Tag[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = toOpenApiPath(op.path);
    paths[path] ??= {};
    if (paths[path][op.method]) throw new Error(`Operation ${op.method.toUpperCase()} ${op.path} is described twice`);
    paths[path][op.method] = describe(op);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Edge User Management API",
      version: "0.1.0",
      description:
        "Accounts, JWT access tokens with rotating refresh tokens, roles, posts and comments. Every answer uses one JSON envelope: `Success` or `Failure` (see the error codes in `ErrorCode`).",
    },
    servers: [{ url: "/" }],
    tags,
    paths,
    components: buildComponents(),
  };
}
