import type { SQL } from "drizzle-orm";
import * as z from "zod";
import type { Db } from "./db/client";
import type { SessionCheck } from "./db/gate";
import type { Role, UserStatus } from "./db/schema";
import { lazySchema } from "./openapi/lazy-schema";

/** Secrets are not in wrangler.toml, so `wrangler types` cannot see them when .dev.vars is absent. */
export type Bindings = Env & {
  JWT_SECRET?: string;
  MAIL_API_KEY?: string;
  ENCRYPTION_KEY?: string;
  TURNSTILE_SECRET?: string;
  OAUTH_PROVIDERS?: string;
};

/** The signed-in user, as loaded by the auth guard on every request. */
export type AuthUser = {
  id: string;
  username: string;
  email: string;
  role: Role;
  status: UserStatus;
  emailVerifiedAt: string | null;
  passwordHash: string;
  /** False for accounts made by social sign-in (optional until every loader selects it). */
  hasPassword?: boolean;
  createdAt: string;
  updatedAt: string;
  /** Optional until the guard selects them: without them `toPublicUser` shows `pendingEmail: null`. */
  pendingEmail?: string | null;
  pendingEmailExpiresAt?: string | null;
  /** When TOTP was confirmed (null: MFA off). */
  mfaEnabledAt?: string | null;
  /** This session's last proof of presence (sign-in or re-authentication), for step-up. */
  lastProofAt?: string | null;
  /** The `jti` of the access token that made that re-authentication: the proof counts only for it. */
  lastProofJti?: string | null;
};

export type Variables = {
  requestId: string;
  config: Config;
  db: Db;
  user: AuthUser;
  sessionId: string;
  /** The access token's `jti` (undefined for a token signed before it existed): step-up is bound to it. */
  tokenId?: string;
  /** The request's D1 gate: the guard arms its session check there (db/gate.ts); `flush` runs it now. */
  sessionGate: {
    arm: (check: SessionCheck) => void;
    flush: () => Promise<void>;
    /** See `SessionGate.demand`: a rule on the caller's row that rides with the pending check. */
    demand: (rule: () => void) => boolean;
  };
  /** On a `requireAuthInWrite` route: the session check as a condition its writes carry (guard.ts). */
  sessionHolds?: SQL;
  /** The endpoint whose per-IP rate limit was already counted before the body was read. */
  ipLimited?: string;
  /** What the request's password check cost, for the request log (never the password or hash). */
  passwordCheck?: { bcryptCost: number; delayMs: number };
};

export type AppEnv = { Bindings: Bindings; Variables: Variables };

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const emptyAsUndefined = (v: unknown) => (v === "" ? undefined : v);

// Built on the first request, not at startup (lazySchema): every request needs it, so this moves it, and
// keeps the startup phase to evaluating the script.
const configSchema = lazySchema(() =>
  z
    .object({
      APP_NAME: z.preprocess(emptyAsUndefined, z.string().max(80).default("Edge Users")),
      JWT_SECRET: z.string({ error: "JWT_SECRET is not set" }).min(32, "JWT_SECRET must be at least 32 characters"),
      APP_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
      CORS_ORIGINS: z
        .string()
        .default("")
        .transform((s) =>
          s
            .split(",")
            .map((o) => o.trim())
            .filter(Boolean),
        ),
      // Fails closed: a deploy that forgets MAIL_PROVIDER sends real mail (or answers 503), never prints links to logs.
      MAIL_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(["console", "resend"]).default("resend")),
      MAIL_API_URL: z.preprocess(emptyAsUndefined, z.url().default("https://api.resend.com")),
      MAIL_API_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
      // Optional until a feature needs it (TOTP secrets): requireEncryptionKey() answers 503 then.
      ENCRYPTION_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
      // JSON of the social sign-in providers, parsed by src/auth/oauth/config.ts only where it is used,
      // so a bad value answers 503 on the OAuth routes instead of taking the whole API down.
      OAUTH_PROVIDERS: z.preprocess(emptyAsUndefined, z.string().optional()),
      /** This API's public origin, for the providers' callback URLs (default: APP_URL's origin); never the Host header. */
      OAUTH_CALLBACK_ORIGIN: z.preprocess(emptyAsUndefined, z.url().optional()),
      MAIL_FROM: z.preprocess(emptyAsUndefined, z.string().default("Edge Users <no-reply@example.com>")),
      BCRYPT_COST: z.coerce.number().int().min(4).max(14).default(10),
      PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(64).default(12),
      ACCESS_TOKEN_TTL: seconds(900),
      REFRESH_TOKEN_TTL: seconds(30 * 24 * 3600),
      RESET_TOKEN_TTL: seconds(1800),
      VERIFY_TOKEN_TTL: seconds(86400),
      /** Seconds during which the refresh token just rotated away may be presented again (two tabs); 0 disables. */
      REFRESH_REUSE_GRACE: z.coerce.number().int().min(0).max(300).default(10),
      /** Absolute lifetime of a session from its login, whatever its refreshes. */
      SESSION_MAX_AGE: seconds(90 * 24 * 3600),
      /** Set, a login for an email past the failure threshold must carry a Turnstile token; unset, it is slowed down. */
      TURNSTILE_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
      TURNSTILE_VERIFY_URL: z.preprocess(
        emptyAsUndefined,
        z.url().default("https://challenges.cloudflare.com/turnstile/v0/siteverify"),
      ),
      REQUIRE_EMAIL_VERIFICATION: z
        .preprocess(emptyAsUndefined, z.enum(["true", "false"]).default("false"))
        .transform((v) => v === "true"),
      /** Passkeys: the relying party id (a domain), its display name and the page origins allowed to sign; defaults in src/auth/passkeys/config.ts. */
      WEBAUTHN_RP_ID: z.preprocess(
        emptyAsUndefined,
        z
          .string()
          .regex(/^[a-z0-9.-]+$/i, "WEBAUTHN_RP_ID must be a domain (no scheme or port)")
          .optional(),
      ),
      WEBAUTHN_RP_NAME: z.preprocess(emptyAsUndefined, z.string().max(80).optional()),
      WEBAUTHN_ORIGINS: z.preprocess(
        emptyAsUndefined,
        z
          .string()
          .optional()
          .transform((s) =>
            s
              ?.split(",")
              .map((o) => o.trim())
              .filter(Boolean),
          ),
      ),
      /** One-time email login codes (POST /login/email-code); "false" turns them off. */
      EMAIL_CODE_LOGIN: z
        .preprocess(emptyAsUndefined, z.enum(["true", "false"]).default("true"))
        .transform((v) => v === "true"),
      MAX_POSTS_PER_USER: z.coerce.number().int().min(1).default(1000),
      MAX_COMMENTS_PER_USER: z.coerce.number().int().min(1).default(5000),
      // Who sees D1 rows read/written in Server-Timing; "all" also shows them before sign-in (bench, private deployments).
      /** Seconds a `POST /me/reauthenticate` (or a sign-in) counts as fresh proof for sensitive actions. */
      STEP_UP_TTL: seconds(300),
      /** Roles whose accounts must turn MFA on before using anything but enrolment (comma list, empty: none). */
      REQUIRE_MFA_ROLES: z
        .string()
        .default("")
        .transform((s) =>
          s
            .split(",")
            .map((r) => r.trim())
            .filter(Boolean),
        ),
      SERVER_TIMING_ROWS: z.preprocess(emptyAsUndefined, z.enum(["signed-in", "all"]).default("signed-in")),
    })
    // A real mail provider needs its key, and APP_URL: emailed links must never be built from
    // the request's Host header, which whoever sends the request chooses.
    .superRefine((config, ctx) => {
      if (config.MAIL_PROVIDER !== "resend") return;
      for (const name of ["MAIL_API_KEY", "APP_URL"] as const) {
        if (!config[name])
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: `${name} is not set (required when MAIL_PROVIDER is resend)`,
          });
      }
    }),
);

export type Config = z.infer<typeof configSchema>;

/** Every variable the configuration reads: the tests pin each one, so a developer's .dev.vars cannot leak in. */
export const configVariables = () => Object.keys(configSchema.shape) as (keyof Config)[];

export type ConfigResult = { ok: true; config: Config } | { ok: false; problem: string };

const parsed = new WeakMap<object, ConfigResult>();

/**
 * Parses the environment once per isolate (env is the same object for every
 * request of an isolate). A problem names the variable, never its value.
 */
export function loadConfig(env: Bindings): ConfigResult {
  let result = parsed.get(env);
  if (!result) {
    const r = configSchema.safeParse(env);
    if (r.success) {
      result = { ok: true, config: r.data };
    } else {
      const issue = r.error.issues[0];
      const name = String(issue?.path[0] ?? "configuration");
      const message = issue?.message.includes(name) ? issue.message : `${name} is invalid`;
      result = { ok: false, problem: message };
    }
    parsed.set(env, result);
  }
  return result;
}
