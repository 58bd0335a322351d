import * as z from "zod";
import { pageQuery } from "../http/pagination";
import { lazySchema } from "../openapi/lazy-schema";
import { idField } from "../users/fields";

/** Counts Unicode code points, so an emoji is one character, as the contract's "chars" reads to a person. */
export const charCount = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/**
 * User-written text, stored exactly as sent (no trimming, no normalisation).
 * Length is in code points (a UTF-16 `length` would make an emoji two). It must
 * be well-formed Unicode, since a lone surrogate cannot be stored as UTF-8
 * and so could not come back verbatim, and not blank.
 */
export const userText = (label: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${label} is required` : `${label} must be a string`) })
    .refine((s) => s.isWellFormed(), `${label} must be valid Unicode text`)
    .refine((s) => s.trim() !== "", `${label} must not be empty`)
    .refine((s) => charCount(s) <= max, `${label} must be at most ${max} characters`)
    // JSON Schema's `maxLength` counts code points too, so it says exactly what the refinements check.
    .meta({ minLength: 1, maxLength: max, description: "Not blank; stored exactly as sent." });

export const TITLE_MAX = 200;
export const POST_CONTENT_MAX = 20_000;

const title = lazySchema(() => userText("Title", TITLE_MAX));
const content = lazySchema(() => userText("Content", POST_CONTENT_MAX));

export const putPostBody = lazySchema(() => z.strictObject({ title, content }));

export const patchPostBody = lazySchema(() =>
  z
    .strictObject({ title: title.optional(), content: content.optional() })
    .refine((body) => body.title !== undefined || body.content !== undefined, "Provide title, content or both")
    .meta({ minProperties: 1 }),
);

export const postListQuery = lazySchema(() =>
  pageQuery.extend({
    authorId: idField("authorId must be a user id").optional(),
    // An empty search box means no filter; longer than a title can be, it could never match.
    q: z
      .string()
      .refine((q) => charCount(q) <= TITLE_MAX, `q must be at most ${TITLE_MAX} characters`)
      .optional()
      .transform((q) => q || undefined),
  }),
);
