import * as z from "zod";
import { lazySchema } from "../openapi/lazy-schema";
import { validationError } from "./errors";

/**
 * A keyset cursor: where the next page starts, as the list's sort key and id
 * of the last item handed out, plus the list it belongs to and the number of
 * the page it leads to (so `meta.page` keeps counting). Encoded as base64url
 * JSON: opaque to clients, and holding only what the list's answer already
 * showed them (a timestamp, a username or email, an id), never anything else.
 *
 * Not signed on purpose: it names a position, not a permission. A forged one
 * can only start the same query the caller may already run somewhere else, so
 * it is validated (shape, lengths, list) rather than authenticated.
 */
export type Cursor = { list: string; page: number; key: string; id: string };

const MAX_CURSOR = 1024;
const KEY_MAX = 320;
const ID = /^[0-9A-Za-z-]{1,64}$/;

const toBase64Url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

function fromBase64Url(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  try {
    const binary = atob(encoded.replaceAll("-", "+").replaceAll("_", "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

export const encodeCursor = (c: Cursor) => toBase64Url(JSON.stringify([c.list, c.page, c.key, c.id]));

/** The cursor's fields when it is one this API could have returned; undefined otherwise. */
export function decodeCursor(encoded: string): Cursor | undefined {
  const text = fromBase64Url(encoded);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [list, page, key, id] = value;
  if (typeof list !== "string" || !/^[a-z:-]{1,40}$/i.test(list)) return undefined;
  if (!Number.isSafeInteger(page) || page < 2 || page > 1_000_000_000) return undefined;
  if (typeof key !== "string" || key.length > KEY_MAX) return undefined;
  if (typeof id !== "string" || !ID.test(id)) return undefined;
  return { list, page, key, id };
}

const NOT_OURS = "cursor is not one this list returned: send back meta.nextCursor as it came";

/** The `cursor` query parameter: decoded and validated, a malformed one is 400 VALIDATION_ERROR. */
export const cursorField = lazySchema(() =>
  z
    .string()
    .max(MAX_CURSOR, NOT_OURS)
    .transform((encoded, ctx) => {
      const cursor = decodeCursor(encoded);
      if (!cursor) {
        ctx.issues.push({ code: "custom", message: NOT_OURS, input: encoded });
        return z.NEVER;
      }
      return cursor;
    })
    .meta({
      description:
        "`meta.nextCursor` of the previous page, as it came. Reads the next page by keyset: a deep page costs what page 1 costs. Wins over `page`.",
    }),
);

/**
 * The cursor's position when it belongs to `list` (a list name, with its sort
 * order when the list has several); a cursor of another list or sort is 400,
 * since its key would mean something else there.
 */
export function seekIn(list: string, cursor: Cursor | undefined): Cursor | undefined {
  if (cursor && cursor.list !== list) throw validationError([{ path: "cursor", message: NOT_OURS }]);
  return cursor;
}

/**
 * The next page's cursor: from the last item when the page is full (so a full
 * last page is followed by one empty page), null when the list ends here.
 */
export function nextCursor<T>(
  list: string,
  page: number,
  items: T[],
  limit: number,
  keyOf: (item: T) => [string, string],
) {
  const last = items.length === limit ? items.at(-1) : undefined;
  if (last === undefined) return null;
  const [key, id] = keyOf(last);
  return encodeCursor({ list, page: page + 1, key, id });
}
