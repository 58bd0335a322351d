// `npm run check:openapi`: validates the OpenAPI document the built Worker serves
// against the OpenAPI 3.1 schema. It runs in Node because the validator (Ajv) compiles
// schemas with `new Function`, which workerd forbids, and reads its schemas from disk.
// The Worker itself runs in workerd through wrangler's `unstable_dev` (bundled from
// wrangler.toml, as `wrangler dev` would), so the checked document is the served one.
// `npm run check:openapi -- --write openapi.json` also saves it, e.g. for a client generator.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { unstable_dev } from "wrangler";

const persistTo = mkdtempSync(join(tmpdir(), "check-openapi-"));
const worker = await unstable_dev("src/index.ts", {
  config: "wrangler.toml",
  ip: "127.0.0.1",
  persistTo,
  // Only /openapi.json is requested; a throwaway secret and the console mail provider
  // (production's resend needs a key and APP_URL) satisfy the config check.
  vars: { JWT_SECRET: randomBytes(32).toString("hex"), MAIL_PROVIDER: "console" },
  logLevel: "error",
  experimental: { disableExperimentalWarning: true },
});

let failed = true;
try {
  const res = await worker.fetch("/openapi.json");
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  const document = await res.json();
  const result = await new Validator().validate(document);
  const operations = Object.values(document.paths).flatMap((item) => Object.keys(item)).length;
  const writeTo = process.argv[process.argv.indexOf("--write") + 1];
  if (process.argv.includes("--write") && writeTo) writeFileSync(writeTo, `${JSON.stringify(document, null, 2)}\n`);
  if (result.valid) {
    console.log(`openapi.json: valid OpenAPI ${document.openapi} (${operations} operations)`);
    failed = false;
  } else {
    console.error("openapi.json is not a valid OpenAPI 3.1 document:");
    console.error(JSON.stringify(result.errors, null, 2));
  }
} finally {
  await worker.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
