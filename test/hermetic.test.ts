import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { configVariables, loadConfig } from "../src/env";

// The suite must give the same result whatever the developer's .dev.vars, .env or shell say
// (.ci/run runs it once more with a hostile .dev.vars in place).
describe("test configuration", () => {
  it("pins every variable the Worker's configuration reads", () => {
    const pinned = new Set(inject("pinnedVariables"));
    expect(configVariables().filter((name) => !pinned.has(name))).toEqual([]);
  });

  it("gives the Worker the documented defaults where the tests do not choose otherwise", () => {
    const result = loadConfig(env);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      APP_NAME: "Edge Users",
      APP_URL: "https://api.test",
      CORS_ORIGINS: [],
      MAIL_PROVIDER: "resend",
      BCRYPT_COST: 4,
      PASSWORD_MIN_LENGTH: 12,
      ACCESS_TOKEN_TTL: 900,
      REFRESH_TOKEN_TTL: 2592000,
      RESET_TOKEN_TTL: 1800,
      VERIFY_TOKEN_TTL: 86400,
      REQUIRE_EMAIL_VERIFICATION: false,
    });
    expect(result.config.JWT_SECRET).toHaveLength(64);
    expect(result.config.MAIL_API_URL).toBe(inject("mailApiUrl"));
  });
});
