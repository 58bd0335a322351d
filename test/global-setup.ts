import type { TestProject } from "vitest/node";
import { startMailServer } from "./support/mail-server";

declare module "vitest" {
  export interface ProvidedContext {
    mailApiUrl: string;
    /** The variables vitest.config.ts pins for the Worker (test/hermetic.test.ts). */
    pinnedVariables: string[];
  }
}

/** Starts the mail capture endpoint that the Worker under test sends real HTTP requests to. */
export default async function setup(project: TestProject) {
  const { server, url } = await startMailServer();
  project.provide("mailApiUrl", url);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
