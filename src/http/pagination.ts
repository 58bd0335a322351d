import * as z from "zod";
import { lazySchema } from "../openapi/lazy-schema";
import { type Cursor, cursorField, seekIn } from "./cursor";

/** A whole number in a query string: digits only, so "1e2", "0x10" or " 2" are errors rather than surprises. */
const queryInt = (label: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, `${label} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${label} must be at least ${min}`).max(max, `${label} must be at most ${max}`))
    .meta({ description: `A whole number from ${min} to ${max}.`, example: String(min) });

export const MAX_PAGE_SIZE = 100;

/**
 * `page` from 1 (a page past the end is simply empty), `limit` 1–100, default
 * 20, and `cursor` (the previous answer's `meta.nextCursor`), which wins over
 * `page`: a numbered page skips the index entries before it, a cursor seeks.
 */
export const pageQuery = lazySchema(() =>
  z.strictObject({
    page: queryInt("page", 1, 1_000_000_000).default(1).meta({ default: "1" }),
    limit: queryInt("limit", 1, MAX_PAGE_SIZE).default(20).meta({ default: "20" }),
    cursor: cursorField.optional(),
  }),
);

export type PageQuery = z.infer<typeof pageQuery>;

/**
 * Where a list's query starts: after the cursor's position (no OFFSET: the
 * index seeks straight to it) or at the numbered page's OFFSET. `page` is the
 * number the answer reports (a cursor carries the one it leads to).
 */
export function startOf(
  list: string,
  { page, limit, cursor }: PageQuery,
): { seek?: Cursor; page: number; offset: number } {
  const seek = seekIn(list, cursor);
  return seek ? { seek, page: seek.page, offset: 0 } : { page, offset: (page - 1) * limit };
}
