import { randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            // A fresh secret every run: nothing in the repo can sign a token.
            JWT_SECRET: randomBytes(32).toString("hex"),
            BCRYPT_COST: "4",
            MAIL_PROVIDER: "resend",
            MAIL_API_URL: inject("mailApiUrl"),
            MAIL_API_KEY: `test-${randomBytes(8).toString("hex")}`,
            MAIL_FROM: "Tests <tests@example.com>",
            // Required with MAIL_PROVIDER=resend; the same origin the test requests use.
            APP_URL: "https://api.test",
          },
        },
      })),
    ],
    test: {
      globalSetup: ["./test/global-setup.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      include: ["test/**/*.test.ts"],
      // The Worker logs one JSON line per request; keep only warnings and errors in test output.
      onConsoleLog: (log: string) => !log.includes('"level":"info"'),
    },
  };
});
