// The Worker's zod JSON Schema conversion (wrangler.toml [alias] of the specifiers
// "../core/json-schema-processors.js" and "../core/to-json-schema.js", as zod's classic schemas
// import them). zod attaches a JSON Schema converter to every schema (`schema.toJSONSchema()`,
// Standard Schema's `~standard.jsonSchema`); the Worker never converts a schema to JSON Schema
// (the OpenAPI document is built at build time, with the real zod), so the two modules,
// 18.7 KiB minified, stay out of it. Calling one in the Worker throws. Keep the names in step
// with what node_modules/zod/v4/classic/schemas.js reads from them (zod is pinned exactly).
const unavailable = () => {
  throw new Error("JSON Schema conversion is left out of the Worker (build/zod-json-schema-runtime.js)");
};
export const createToJSONSchemaMethod = () => unavailable;
export const createStandardJSONSchemaMethod = () => unavailable;
export const aggregateChecks = unavailable;
export const anyProcessor = unavailable;
export const arrayProcessor = unavailable;
export const bigintProcessor = unavailable;
export const booleanProcessor = unavailable;
export const catchProcessor = unavailable;
export const customProcessor = unavailable;
export const dateProcessor = unavailable;
export const defaultProcessor = unavailable;
export const enumProcessor = unavailable;
export const fileProcessor = unavailable;
export const functionProcessor = unavailable;
export const intersectionProcessor = unavailable;
export const lazyProcessor = unavailable;
export const literalProcessor = unavailable;
export const mapProcessor = unavailable;
export const nanProcessor = unavailable;
export const neverProcessor = unavailable;
export const nonoptionalProcessor = unavailable;
export const nullProcessor = unavailable;
export const nullableProcessor = unavailable;
export const numberProcessor = unavailable;
export const objectProcessor = unavailable;
export const optionalProcessor = unavailable;
export const pipeProcessor = unavailable;
export const prefaultProcessor = unavailable;
export const promiseProcessor = unavailable;
export const readonlyProcessor = unavailable;
export const recordProcessor = unavailable;
export const setProcessor = unavailable;
export const stringProcessor = unavailable;
export const successProcessor = unavailable;
export const symbolProcessor = unavailable;
export const templateLiteralProcessor = unavailable;
export const transformProcessor = unavailable;
export const tupleProcessor = unavailable;
export const undefinedProcessor = unavailable;
export const unionProcessor = unavailable;
export const unknownProcessor = unavailable;
export const voidProcessor = unavailable;
