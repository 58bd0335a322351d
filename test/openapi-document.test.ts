import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import committed from "../docs/openapi.json";
import { app } from "../src/app";
import { buildOpenApiDocument } from "../src/openapi/document";
import { api } from "./support/api";

/*
 * The Worker serves a document generated at build time (docs/openapi.json, `npm run openapi`),
 * read from its static assets; the route declarations stay its single source. The tests run
 * without wrangler.toml's [alias], so here `buildOpenApiDocument` uses the real generator.
 */
describe("the OpenAPI document generated at build time", () => {
  // JSON round trip: what the generator returns may hold `undefined` members that JSON drops.
  const declared = () => JSON.parse(JSON.stringify(buildOpenApiDocument(app)));

  it("is exactly what the route declarations build (run `npm run openapi` when this fails)", () => {
    expect(committed).toEqual(declared());
  });

  it("is what GET /openapi.json serves, read from the static assets", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(declared());
    const asset = await (env as unknown as Env).ASSETS.fetch("https://api.test/openapi.json");
    expect(await asset.json()).toEqual(committed);
  });

  it("changes when a declaration changes (the check compares content, not only shape)", () => {
    const changed = structuredClone(committed) as { info: { title: string } };
    changed.info.title = "Something else";
    expect(changed).not.toEqual(declared());
  });
});
