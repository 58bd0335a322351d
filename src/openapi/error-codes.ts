import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode } from "../http/errors";

/**
 * Every error code of the contract with its usual status and when it happens.
 * `satisfies Record<ErrorCode, …>` makes the compiler refuse a code added to
 * `AppError` without its entry here, so the document cannot miss one.
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { status: 400, when: "The body, query or path fails its schema; `details` name each field." },
  INVALID_JSON: { status: 400, when: "The body is not parseable JSON." },
  INVALID_TOKEN: {
    status: 400,
    when: "The reset or verification token is unknown, expired or already used, or (verification) another account's than the session's.",
  },
  UNAUTHORIZED: {
    status: 401,
    when: "The access token is missing, malformed, tampered, expired or revoked (`WWW-Authenticate: Bearer`).",
  },
  INVALID_CREDENTIALS: { status: 401, when: "Wrong email or password (the same answer for both)." },
  CHALLENGE_REQUIRED: {
    status: 401,
    when: "Login for an email with many recent failures needs a valid `turnstileToken` (only when `TURNSTILE_SECRET` is set).",
  },
  INVALID_REFRESH_TOKEN: { status: 401, when: "The refresh token is unknown, expired, revoked or reused." },
  INVALID_MFA_CODE: {
    status: 401,
    when: "The authenticator code or recovery code is wrong, already used, or outside the ±30 s window.",
  },
  INVALID_MFA_TOKEN: {
    status: 401,
    when: "The `mfaToken` of POST /login/mfa is unknown, expired (5 min), used, spent (5 wrong codes) or stale (the password changed).",
  },
  INVALID_EMAIL_CODE: {
    status: 401,
    when: "The email login code (or step-up `emailCode`) is wrong, expired (10 min), already used or spent (5 wrong tries), or was for another address (or session).",
  },
  REAUTHENTICATION_REQUIRED: {
    status: 403,
    when: "A sensitive action without fresh proof: send `currentPassword` (and `code` when MFA is on) or call POST /me/reauthenticate first.",
  },
  MFA_ENROLLMENT_REQUIRED: {
    status: 403,
    when: "The account's role is in `REQUIRE_MFA_ROLES` and it has no MFA yet: only /me, /me/mfa/*, /me/reauthenticate and /logout answer.",
  },
  FORBIDDEN: { status: 403, when: "Authenticated, but the role or ownership does not allow it." },
  ACCOUNT_SUSPENDED: { status: 403, when: "The account is suspended." },
  EMAIL_NOT_VERIFIED: {
    status: 403,
    when: "`REQUIRE_EMAIL_VERIFICATION` is on and the account's email is not verified (refresh, most bearer routes).",
  },
  NOT_FOUND: { status: 404, when: "No such route or resource." },
  CONFLICT: { status: 409, when: "The email or username is already taken." },
  LAST_ADMIN: { status: 409, when: "The change would leave no active admin." },
  INVALID_PASSKEY: {
    status: 400,
    when: "The passkey registration was refused; ask for new options.",
  },
  CONTENT_LIMIT_REACHED: {
    status: 409,
    when: "The account already stores `MAX_POSTS_PER_USER` posts (or `MAX_COMMENTS_PER_USER` comments).",
  },
  PAYLOAD_TOO_LARGE: { status: 413, when: "The body is over 64 KiB." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, when: "The body is not `application/json`." },
  TOO_MANY_REQUESTS: { status: 429, when: "A rate limit was hit; `Retry-After` says when to try again." },
  ACCOUNT_LOCKED: {
    status: 429,
    when: "Too many failed password checks for this email from this network; `Retry-After` says for how long.",
  },
  INTERNAL_ERROR: { status: 500, when: "Anything unexpected; the `X-Request-Id` lets an operator find it in logs." },
  MISCONFIGURED: {
    status: 503,
    when: "A required secret or binding is missing (the message names it, never its value).",
  },
  INVALID_STATE: {
    status: 400,
    when: "GET /oauth/:provider/callback without a valid `state` (missing, unknown, expired, already used, or issued for another provider).",
  },
  INVALID_LOGIN_CODE: {
    status: 401,
    when: "POST /oauth/token or POST /me/identities: the code is unknown, expired (60 s), used, of the wrong kind (sign-in vs link) or another account's link code, or `codeVerifier` does not match its challenge (the code is spent either way).",
  },
  INVALID_ID_TOKEN: {
    status: 401,
    when: "POST /oauth/:provider/id-token: the ID token's signature, `iss`, `aud`, `exp`, `iat` or `nonce` does not check out.",
  },
  ACCOUNT_EXISTS: {
    status: 409,
    when: "An account has the identity's email, and the provider or the account has not verified it: sign in and link it from /me/identities.",
  },
  EMAIL_REQUIRED: {
    status: 400,
    when: "The provider gave no usable email for a new identity: none, or one it does not say it verified.",
  },
  IDENTITY_IN_USE: { status: 409, when: "The identity is linked to another account." },
  LAST_SIGN_IN_METHOD: {
    status: 409,
    when: "The removal would leave the account no way to sign in (no password, passkey or other identity).",
  },
} as const satisfies Record<ErrorCode, { status: ContentfulStatusCode; when: string }>;

export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];
