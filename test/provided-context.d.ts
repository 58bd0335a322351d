// What vitest.config.ts and test/global-setup.ts hand to the tests through `inject()`.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    mailApiUrl: string;
    /** The local OpenID Connect provider and GitHub-shaped API (test/support/oidc-provider.ts). */
    oidcUrl: string;
    /** The variables vitest.config.ts pins for the Worker (test/hermetic.test.ts). */
    pinnedVariables: string[];
  }
}
