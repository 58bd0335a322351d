import * as z from "zod";
import type { Db } from "./db/client";
import type { Role, UserStatus } from "./db/schema";

/** Secrets are not in wrangler.toml, so `wrangler types` cannot see them when .dev.vars is absent. */
export type Bindings = Env & {
  JWT_SECRET?: string;
  MAIL_API_KEY?: string;
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
  createdAt: string;
  updatedAt: string;
};

export type Variables = {
  requestId: string;
  config: Config;
  db: Db;
  user: AuthUser;
  sessionId: string;
};

export type AppEnv = { Bindings: Bindings; Variables: Variables };

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const emptyAsUndefined = (v: unknown) => (v === "" ? undefined : v);

const configSchema = z.object({
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
  MAIL_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(["console", "resend"]).default("console")),
  MAIL_API_URL: z.preprocess(emptyAsUndefined, z.url().default("https://api.resend.com")),
  MAIL_API_KEY: z.string().optional(),
  MAIL_FROM: z.preprocess(emptyAsUndefined, z.string().default("Edge Users <no-reply@example.com>")),
  BCRYPT_COST: z.coerce.number().int().min(4).max(14).default(10),
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(64).default(12),
  ACCESS_TOKEN_TTL: seconds(900),
  REFRESH_TOKEN_TTL: seconds(30 * 24 * 3600),
  RESET_TOKEN_TTL: seconds(1800),
  VERIFY_TOKEN_TTL: seconds(86400),
  REQUIRE_EMAIL_VERIFICATION: z
    .preprocess(emptyAsUndefined, z.enum(["true", "false"]).default("false"))
    .transform((v) => v === "true"),
  // Who sees D1 rows read/written in Server-Timing; "all" also shows them before sign-in (bench, private deployments).
  SERVER_TIMING_ROWS: z.preprocess(emptyAsUndefined, z.enum(["signed-in", "all"]).default("signed-in")),
});

export type Config = z.infer<typeof configSchema>;

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
