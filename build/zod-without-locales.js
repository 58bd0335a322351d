// The Worker's "zod" (wrangler.toml [alias]): zod's own classic entry
// (node_modules/zod/v4/classic/external.js) minus its one line
// `export * as locales from "../locales/index.js"`. Libraries that take the
// whole `z` namespace (@hono/zod-openapi calls extendZodWithOpenApi(z)) would
// otherwise bundle all 60+ translations of zod's messages, about 60 KiB
// gzipped. Messages stay English: zod registers `en` itself (classic/schemas.js).
// Also left out, as nothing here uses them and the namespace would keep them:
// zod's schema compiler (`compile`, `toZod`, `withParser`), `fromJSONSchema`, `toJSONSchema`
// (`schema.toJSONSchema()` still works) and the `core` namespace (2.9 KiB gzipped; `z.core` is
// used for types only). vitest.config.ts resolves "zod" to this file too, so a test fails when
// code calls something left out here.
// `npm run size` fails if a locale other than English is bundled again.
// This file lists zod's internal files by path, so zod is pinned
// to an exact version in package.json: upgrade it on purpose, then check these lists against the
// new node_modules/zod/v4/classic/external.js and v4/core/index.js (`npm run size`, `npm test`).
import * as z from "./zod-without-locales.js";

export * as coerce from "../node_modules/zod/v4/classic/coerce.js";
export { deepPartial } from "../node_modules/zod/v4/classic/deep-partial.js";
export * from "../node_modules/zod/v4/classic/errors.js";
export { input, output } from "../node_modules/zod/v4/classic/in-out.js";
export * as iso from "../node_modules/zod/v4/classic/iso.js";
export { ZodISODate, ZodISODateTime, ZodISODuration, ZodISOTime } from "../node_modules/zod/v4/classic/iso.js";
export * from "../node_modules/zod/v4/classic/parse.js";
// zod's schema builders, only those a JSON API uses (not e.g. z.cuid2, z.iban, z.map, z.promise,
// z.function); each one listed keeps its classes. Add a name here when code needs one more:
// the tests resolve "zod" to this file, so a missing one fails them ("z.x is not a function").
export {
  _default,
  any,
  array,
  base64,
  base64url,
  boolean,
  check,
  custom,
  date,
  describe,
  discriminatedUnion,
  email,
  enum,
  guid,
  hex,
  httpUrl,
  int,
  intersection,
  lazy,
  literal,
  looseObject,
  meta,
  never,
  null,
  nullable,
  nullish,
  number,
  object,
  optional,
  pipe,
  preprocess,
  record,
  refine,
  strictObject,
  string,
  stringbool,
  superRefine,
  transform,
  tuple,
  undefined,
  union,
  unknown,
  url,
  uuid,
  uuidv4,
  uuidv7,
  ZodAny,
  ZodArray,
  ZodBoolean,
  ZodDefault,
  ZodDiscriminatedUnion,
  ZodEnum,
  ZodLiteral,
  ZodNullable,
  ZodNumber,
  ZodObject,
  ZodOptional,
  ZodPipe,
  ZodRecord,
  ZodString,
  ZodTransform,
  ZodType,
  ZodUnion,
  ZodUnknown,
} from "../node_modules/zod/v4/classic/schemas.js";
export {
  $brand,
  $input,
  $output,
  clone,
  config,
  flattenError,
  formatError,
  getDiscriminatedOption,
  globalRegistry,
  INVALID,
  memoizer,
  NEVER,
  prettifyError,
  regexes,
  registry,
  TimePrecision,
  treeifyError,
  util,
} from "../node_modules/zod/v4/core/index.js";
export { z, z as default };
