/** The secret the Turnstile stand-in (turnstile-server.ts) accepts; tests set it as TURNSTILE_SECRET. */
export const TEST_TURNSTILE_SECRET = "test-turnstile-secret";
