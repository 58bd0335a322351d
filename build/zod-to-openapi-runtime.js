// The Worker's "@asteasolutions/zod-to-openapi" (wrangler.toml [alias]). @hono/zod-openapi imports
// the OpenAPI generator and records every route in a registry, only so that a document can be built
// at run time. This Worker serves a document generated at build time instead (docs/openapi.json,
// written by `npm run openapi` with the real generator, read from the static assets by
// src/openapi/routes.ts, checked by test/openapi-document.test.ts), so at run time the registry
// records nothing and the generator is not bundled (8.6 KiB gzipped). The tests and
// `npm run openapi` run without this alias.
// Keep these exports in step with what @hono/zod-openapi imports (node_modules/@hono/zod-openapi/dist/index.mjs).

/** Records nothing: no document is built at run time. */
export class OpenAPIRegistry {
  definitions = [];
  registerPath() {}
  registerWebhook() {}
  registerComponent(_type, _name, component) {
    return { name: _name, ref: { $ref: `#/components/${_type}/${_name}` }, component };
  }
  register(_refId, schema) {
    return schema;
  }
  registerParameter(_refId, schema) {
    return schema;
  }
}

class BuildTimeOnly {
  constructor() {
    throw new Error("The OpenAPI document is generated at build time: npm run openapi (docs/openapi.json)");
  }
}

export { BuildTimeOnly as OpenApiGeneratorV3, BuildTimeOnly as OpenApiGeneratorV31 };

/** `schema.openapi(...)` only adds documentation, which the run-time Worker never reads. */
export function extendZodWithOpenApi(zod) {
  zod.ZodType.prototype.openapi ??= function openapi() {
    return this;
  };
}

export const getOpenApiMetadata = () => ({});
