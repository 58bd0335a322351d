import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "./scripts/lib/docs-assets.mjs";

/**
 * Every variable the Worker's configuration reads, pinned for the tests.
 *
 * The plugin builds the Worker's env through wrangler, which adds the
 * developer's `.dev.vars` (or, without one, `.env` and, with
 * CLOUDFLARE_INCLUDE_PROCESS_ENV=true, the shell) on top of wrangler.toml, and
 * offers no switch to turn that off. Bindings given here win over all of them,
 * so pinning each variable makes the suite hermetic; test/hermetic.test.ts
 * fails when a variable the configuration reads is missing from this list.
 */
const pinned = {
  APP_NAME: "Edge Users",
  // Required with MAIL_PROVIDER=resend; the same origin the test requests use.
  APP_URL: "https://api.test",
  CORS_ORIGINS: "",
  // A fresh secret every run: nothing in the repo can sign a token.
  JWT_SECRET: randomBytes(32).toString("hex"),
  ENCRYPTION_KEY: randomBytes(32).toString("hex"),
  MAIL_PROVIDER: "resend",
  MAIL_API_KEY: `test-${randomBytes(8).toString("hex")}`,
  MAIL_FROM: "Tests <tests@example.com>",
  BCRYPT_COST: "4",
  PASSWORD_MIN_LENGTH: "12",
  ACCESS_TOKEN_TTL: "900",
  REFRESH_TOKEN_TTL: "2592000",
  RESET_TOKEN_TTL: "1800",
  VERIFY_TOKEN_TTL: "86400",
  REFRESH_REUSE_GRACE: "10",
  SESSION_MAX_AGE: "7776000",
  REQUIRE_EMAIL_VERIFICATION: "false",
  // Off unless a test turns it on; a TURNSTILE_SECRET in .dev.vars must not change results.
  TURNSTILE_SECRET: "",
  // No social sign-in unless a test configures a provider (test/oauth.test.ts passes its own).
  OAUTH_PROVIDERS: "",
  // Social sign-in callbacks default to APP_URL's origin (https://api.test, this API in the tests).
  OAUTH_CALLBACK_ORIGIN: "",
  // Passkeys take their defaults from APP_URL (rp id api.test, origin https://api.test).
  WEBAUTHN_RP_ID: "",
  WEBAUTHN_RP_NAME: "",
  WEBAUTHN_ORIGINS: "",
  EMAIL_CODE_LOGIN: "true",
  MAX_POSTS_PER_USER: "1000",
  MAX_COMMENTS_PER_USER: "5000",
  SERVER_TIMING_ROWS: "signed-in",
  STEP_UP_TTL: "300",
  REQUIRE_MFA_ROLES: "",
};

// Only .dev.vars is read when it exists; these stop the fallbacks (.env, the shell) when it does not.
process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV = "false";
process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "false";

// wrangler.toml's [assets] directory must exist before the plugin reads the config.
copyDocsAssets();

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    // The Worker's zod (wrangler.toml [alias]): a test fails when code calls what it leaves out.
    resolve: {
      alias: [
        { find: /^zod$/, replacement: fileURLToPath(new URL("./build/zod-without-locales.js", import.meta.url)) },
      ],
    },
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ...pinned,
            MAIL_API_URL: inject("mailApiUrl"),
            TURNSTILE_VERIFY_URL: `${inject("turnstileUrl")}/siteverify`,
          },
        },
      })),
    ],
    test: {
      globalSetup: ["./test/global-setup.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      include: ["test/**/*.test.ts"],
      provide: { pinnedVariables: [...Object.keys(pinned), "MAIL_API_URL", "TURNSTILE_VERIFY_URL"] },
      // The Worker logs one JSON line per request; keep only warnings and errors in test output.
      onConsoleLog: (log: string) => !log.includes('"level":"info"'),
    },
  };
});
