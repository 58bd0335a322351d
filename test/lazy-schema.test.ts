import { describe, expect, it } from "vitest";
import * as z from "zod";
import { app } from "../src/app";
import { lazySchema, lazySchemasBuilt } from "../src/openapi/lazy-schema";
import { api } from "./support/api";

describe("schemas built on first use (startup)", () => {
  it("importing the app builds no schema; a request builds only what its route needs", async () => {
    // This file imports the app and nothing has run yet: the Worker's startup phase.
    expect(app).toBeDefined();
    expect(lazySchemasBuilt()).toBe(0);
    const res = await api("POST", "/refresh", { body: { refreshToken: "" } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    const afterOneRoute = lazySchemasBuilt();
    // The configuration and /refresh's body, not the hundred-odd other schemas.
    expect(afterOneRoute).toBeGreaterThan(0);
    expect(afterOneRoute).toBeLessThan(10);
  });

  it("answers a validator's parse without building until it is called", async () => {
    let builds = 0;
    const schema = lazySchema(() => {
      builds++;
      return z.strictObject({ name: z.string().min(2) });
    });
    // What @hono/zod-openapi checks when a route is registered.
    expect(typeof schema.safeParseAsync).toBe("function");
    expect(typeof schema.parse).toBe("function");
    expect(builds).toBe(0);
    const eager = z.strictObject({ name: z.string().min(2) });
    expect(await schema.safeParseAsync({ name: "a", extra: 1 })).toEqual(
      await eager.safeParseAsync({ name: "a", extra: 1 }),
    );
    expect(schema.parse({ name: "ab" })).toEqual({ name: "ab" });
    expect(builds).toBe(1);
  });

  it("composes as the real schema: modifiers and metadata see the built one", () => {
    const field = lazySchema(() => z.string().max(3).meta({ description: "short", example: "abc" }));
    const optional = field.optional();
    expect(optional.unwrap()).not.toBe(field);
    expect(optional.unwrap().meta()).toEqual({ description: "short", example: "abc" });
    expect(field.meta()).toEqual({ description: "short", example: "abc" });
    const object = z.strictObject({ field, optional });
    expect(object.safeParse({ field: "abcd" }).error?.issues.map((i) => i.path)).toEqual([["field"]]);
    expect(object.parse({ field: "ab" })).toEqual({ field: "ab" });
    expect(field instanceof z.ZodString).toBe(true);
  });
});
