import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { ApiResponse } from "./api";

/** What an error body must never show a client: stack frames, SQL, driver errors, stored secrets. */
const LEAKS: RegExp[] = [
  /\bat .+:\d+:\d+/, // stack frame
  /\.(ts|js):\d+/,
  /\bselect\b[\s\S]*\bfrom\b/i,
  /\binsert into\b/i,
  /\bupdate\s+"?\w+"?\s+set\b/i,
  /sqlite/i,
  /D1_[A-Z]/,
  /constraint failed/i,
  /password_hash/i, // the column; the camelCase field name may be echoed back as an unknown field
  /\$2[aby]\$\d\d\$/, // a bcrypt hash
];

/** Asserts that a serialized body carries none of `LEAKS` and not the JWT secret. */
function expectNoLeaks(body: unknown) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  for (const leak of LEAKS) expect(text).not.toMatch(leak);
  expect(text).not.toContain(env.JWT_SECRET);
}

/**
 * Asserts the failure envelope of the contract, exactly: status, code, a
 * message, only the documented keys, and nothing leaked.
 */
export function expectFailure(res: ApiResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ status: "failed", statusCode: status, error: { code } });
  expect(typeof res.body.message).toBe("string");
  expect(Object.keys(res.body).sort()).toEqual(["error", "message", "status", "statusCode"]);
  for (const key of Object.keys(res.body.error)) expect(["code", "details", "detailsTotal"]).toContain(key);
  expectNoLeaks(res.body);
}

/** A 401 for a bad access token: `UNAUTHORIZED` with a Bearer challenge. */
export function expectUnauthorized(res: ApiResponse) {
  expectFailure(res, 401, "UNAUTHORIZED");
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer\b/);
}

/** The paths named in a VALIDATION_ERROR's details. */
export const detailPaths = (res: ApiResponse): string[] =>
  (res.body.error?.details ?? []).map((d: { path: string }) => d.path);
