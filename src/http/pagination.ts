import * as z from "zod";

/** A whole number in a query string: digits only, so "1e2", "0x10" or " 2" are errors rather than surprises. */
const queryInt = (label: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, `${label} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${label} must be at least ${min}`).max(max, `${label} must be at most ${max}`))
    .meta({ description: `A whole number from ${min} to ${max}.`, example: String(min) });

export const MAX_PAGE_SIZE = 100;

/** `page` from 1 (a page past the end is simply empty), `limit` 1–100, default 20. */
export const pageQuery = z.strictObject({
  page: queryInt("page", 1, 1_000_000_000).default(1).meta({ default: "1" }),
  limit: queryInt("limit", 1, MAX_PAGE_SIZE).default(20).meta({ default: "20" }),
});

export type PageQuery = z.infer<typeof pageQuery>;
