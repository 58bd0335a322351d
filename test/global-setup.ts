import type { TestProject } from "vitest/node";
import { startMailServer } from "./support/mail-server";
import { startOidcProvider } from "./support/oidc-provider";
import { startTurnstileServer } from "./support/turnstile-server";

declare module "vitest" {
  export interface ProvidedContext {
    mailApiUrl: string;
    /** The local OpenID Connect provider and GitHub-shaped API (test/support/oidc-provider.ts). */
    oidcUrl: string;
    /** The variables vitest.config.ts pins for the Worker (test/hermetic.test.ts). */
    pinnedVariables: string[];
    turnstileUrl: string;
  }
}

/** Starts the mail capture, Turnstile siteverify and identity provider stand-ins that the Worker under test sends real HTTP requests to. */
export default async function setup(project: TestProject) {
  const mail = await startMailServer();
  const turnstile = await startTurnstileServer();
  const oidc = await startOidcProvider();
  project.provide("mailApiUrl", mail.url);
  project.provide("oidcUrl", oidc.url);
  project.provide("turnstileUrl", turnstile.url);
  const close = (server: typeof mail.server) => new Promise<void>((resolve) => server.close(() => resolve()));
  return async () => {
    await Promise.all([close(mail.server), close(turnstile.server), close(oidc.server)]);
  };
}
