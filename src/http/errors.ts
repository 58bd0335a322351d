import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorCode =
  | "VALIDATION_ERROR"
  | "INVALID_JSON"
  | "INVALID_TOKEN"
  | "UNAUTHORIZED"
  | "INVALID_CREDENTIALS"
  | "CHALLENGE_REQUIRED"
  | "INVALID_REFRESH_TOKEN"
  | "INVALID_MFA_CODE"
  | "INVALID_MFA_TOKEN"
  | "INVALID_EMAIL_CODE"
  | "REAUTHENTICATION_REQUIRED"
  | "MFA_ENROLLMENT_REQUIRED"
  | "FORBIDDEN"
  | "ACCOUNT_SUSPENDED"
  | "EMAIL_NOT_VERIFIED"
  | "NOT_FOUND"
  | "CONFLICT"
  | "LAST_ADMIN"
  | "LAST_SIGN_IN_METHOD"
  | "INVALID_PASSKEY"
  | "CONTENT_LIMIT_REACHED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "TOO_MANY_REQUESTS"
  | "ACCOUNT_LOCKED"
  | "INTERNAL_ERROR"
  | "MISCONFIGURED"
  | "INVALID_STATE"
  | "INVALID_LOGIN_CODE"
  | "INVALID_ID_TOKEN"
  | "ACCOUNT_EXISTS"
  | "EMAIL_REQUIRED"
  | "IDENTITY_IN_USE"
  | "LAST_SIGN_IN_METHOD";

export type ErrorDetail = { path: string; message: string };

/** The one error type handlers throw; `onError` turns it into the failure envelope. */
export class AppError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const unauthorized = (message = "Authentication required") =>
  new AppError(401, "UNAUTHORIZED", message, undefined, { "WWW-Authenticate": 'Bearer realm="api"' });

export const forbidden = (message = "You are not allowed to do this") => new AppError(403, "FORBIDDEN", message);

export const notFound = (what = "Resource") => new AppError(404, "NOT_FOUND", `${what} not found`);

export const validationError = (details: ErrorDetail[]) =>
  new AppError(400, "VALIDATION_ERROR", "Validation failed", details);

export const tooManyRequests = (
  retryAfterSeconds: number,
  code: "TOO_MANY_REQUESTS" | "ACCOUNT_LOCKED" = "TOO_MANY_REQUESTS",
) =>
  new AppError(
    429,
    code,
    code === "ACCOUNT_LOCKED" ? "Too many failed logins; try again later" : "Too many requests; slow down",
    undefined,
    { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  );
