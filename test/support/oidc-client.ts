/**
 * The one client registered at the local identity provider (test/support/oidc-provider.ts).
 * A test value, not a secret: the provider listens on 127.0.0.1 only and lives for one run.
 */
export const TEST_OAUTH_CLIENT = { id: "edge-users-test", secret: "test-client-secret-not-a-real-one" } as const;
