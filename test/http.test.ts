import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { app } from "../src/app";
import { loadConfig } from "../src/env";
import {
  type ApiResponse,
  api,
  randomIp,
  registerAndLogin,
  registerUser,
  STRONG_PASSWORD,
  unique,
} from "./support/api";
import { expectFailure } from "./support/expect-failure";

const KIB = 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A login body padded with trailing whitespace (still valid JSON) to exactly `bytes` bytes. */
const paddedLoginBody = (bytes: number) => {
  const json = JSON.stringify({ email: "nobody@example.com", password: "not-the-password" });
  return json + " ".repeat(bytes - json.length);
};

/** Sends a body as a stream of chunks, with no Content-Length, as a chunked upload arrives. */
async function postStream(path: string, chunks: Uint8Array[], contentType = "application/json"): Promise<ApiResponse> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const request = new Request(`https://api.test${path}`, {
    method: "POST",
    body,
    headers: { "Content-Type": contentType, "CF-Connecting-IP": randomIp() },
    duplex: "half",
  } as RequestInit);
  expect(request.headers.has("Content-Length")).toBe(false);
  const response = await exports.default.fetch(request);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** A request through the real app with a changed environment (a setting the test run cannot have). */
async function withEnv(overrides: Record<string, unknown>, path: string, init: RequestInit = {}): Promise<ApiResponse> {
  const response = await app.request(path, init, { ...env, ...overrides });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : text };
}

describe("envelope", () => {
  it("wraps success as { status, statusCode, message, data }", async () => {
    const res = await api("GET", "/health");
    expect(Object.keys(res.body).sort()).toEqual(["data", "message", "status", "statusCode"]);
    expect(res.body).toMatchObject({ status: "success", statusCode: 200, message: expect.any(String) });
  });

  it("answers an unknown route with a JSON 404 NOT_FOUND", async () => {
    expectFailure(await api("GET", "/definitely/not/here"), 404, "NOT_FOUND");
    expectFailure(await api("POST", "/nope", { body: { a: 1 } }), 404, "NOT_FOUND");
  });

  it("answers a known path with the wrong method with a JSON 404", async () => {
    expectFailure(await api("GET", "/login"), 404, "NOT_FOUND");
    expectFailure(await api("DELETE", "/health"), 404, "NOT_FOUND");
  });
});

describe("X-Request-Id", () => {
  it("echoes a safe request id, on success and on errors", async () => {
    for (const path of ["/health", "/nope"]) {
      const res = await api("GET", path, { headers: { "X-Request-Id": "client-42_a.b:c" } });
      expect(res.headers.get("X-Request-Id")).toBe("client-42_a.b:c");
    }
    const badJson = await api("POST", "/login", {
      rawBody: "{",
      headers: { "Content-Type": "application/json", "X-Request-Id": "trace-1" },
    });
    expect(badJson.headers.get("X-Request-Id")).toBe("trace-1");
  });

  it("replaces an unsafe request id with a generated one instead of reflecting it", async () => {
    for (const unsafe of ["<script>alert(1)</script>", "has spaces", "a".repeat(129), "x;drop table users", "{}"]) {
      const res = await api("GET", "/health", { headers: { "X-Request-Id": unsafe } });
      expect(res.headers.get("X-Request-Id")).toMatch(UUID);
    }
  });

  it("generates a fresh id when none is sent", async () => {
    const [a, b] = [await api("GET", "/health"), await api("GET", "/nope")];
    expect(a.headers.get("X-Request-Id")).toMatch(UUID);
    expect(b.headers.get("X-Request-Id")).toMatch(UUID);
    expect(a.headers.get("X-Request-Id")).not.toBe(b.headers.get("X-Request-Id"));
  });
});

describe("security headers", () => {
  it("are on success, client-error and auth-error responses alike, with no banner", async () => {
    const responses = [
      await api("GET", "/health"),
      await api("GET", "/nope"),
      await api("GET", "/me"),
      await api("POST", "/login", { rawBody: "x", headers: { "Content-Type": "text/plain" } }),
    ];
    for (const res of responses) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
      expect(res.headers.get("Strict-Transport-Security")).toMatch(/max-age=\d+/);
      expect(res.headers.has("X-Powered-By")).toBe(false);
      expect(res.headers.has("Server")).toBe(false);
    }
  });
});

describe("CORS (CORS_ORIGINS is empty in tests)", () => {
  const accessControlHeaders = (res: ApiResponse) =>
    [...res.headers.keys()].filter((name) => name.toLowerCase().startsWith("access-control-"));

  it("gives a foreign origin no CORS headers, on requests and on preflights", async () => {
    const origin = { Origin: "https://evil.example" };
    const simple = await api("GET", "/health", { headers: origin });
    expect(simple.status).toBe(200);
    expect(accessControlHeaders(simple)).toEqual([]);

    const preflight = await api("OPTIONS", "/login", {
      headers: { ...origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
    });
    expect(accessControlHeaders(preflight)).toEqual([]);
  });

  it("gives a configured origin credential-less CORS with Authorization and Content-Type allowed", async () => {
    const cors = { CORS_ORIGINS: "https://app.example, https://admin.example" };
    const origin = { Origin: "https://app.example" };
    const simple = await withEnv(cors, "/health", { headers: origin });
    expect(simple.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
    expect(simple.headers.has("Access-Control-Allow-Credentials")).toBe(false);

    const preflight = await withEnv(cors, "/login", {
      method: "OPTIONS",
      headers: { ...origin, "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
    const allowed = preflight.headers.get("Access-Control-Allow-Headers")?.toLowerCase().split(",") ?? [];
    expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type"]));

    const foreign = await withEnv(cors, "/health", { headers: { Origin: "https://app.example.evil.test" } });
    expect(foreign.headers.has("Access-Control-Allow-Origin")).toBe(false);
  });

  it("says Vary: Origin on every response once origins are configured, so no shared cache mixes origins", async () => {
    const cors = { CORS_ORIGINS: "https://app.example" };
    const responses = [
      await withEnv(cors, "/openapi.json", { headers: { Origin: "https://app.example" } }),
      await withEnv(cors, "/openapi.json", { headers: { Origin: "https://evil.example" } }),
      await withEnv(cors, "/openapi.json"),
      await withEnv(cors, "/health"),
      await withEnv(cors, "/me", { headers: { Origin: "https://evil.example" } }),
      await withEnv(cors, "/nope", { headers: { Origin: "https://app.example" } }),
      await withEnv(cors, "/login", {
        method: "OPTIONS",
        headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
      }),
      await withEnv(cors, "/login", {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
      }),
    ];
    for (const res of responses) {
      const vary = (res.headers.get("Vary") ?? "").split(",").map((v) => v.trim().toLowerCase());
      expect(vary.filter((v) => v === "origin")).toEqual(["origin"]);
    }
  });
});

describe("request bodies", () => {
  it("refuses a body that is not application/json with 415 UNSUPPORTED_MEDIA_TYPE", async () => {
    const json = JSON.stringify({ email: "a@example.com", password: "whatever-password" });
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await api("POST", "/login", { rawBody: json, headers: { "Content-Type": contentType } });
      expectFailure(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("refuses a body sent without any Content-Type with 415", async () => {
    const body = new TextEncoder().encode(JSON.stringify({ email: "a@example.com", password: "x" }));
    const response = await exports.default.fetch(new Request("https://api.test/login", { method: "POST", body }));
    expect(response.status).toBe(415);
    expect((await response.json<any>()).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("takes a zero-byte body as no body whatever its Content-Type, on any method", async () => {
    const s = await registerAndLogin();
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/json"]) {
      const headers = { "Content-Type": contentType, "Content-Length": "0" };
      expect((await api("GET", "/me", { token: s.accessToken, headers })).status).toBe(200);
      expect((await api("POST", "/resend-verification", { token: s.accessToken, rawBody: "", headers })).status).toBe(
        200,
      );
    }
    const streamed = await postStream("/refresh", [], "text/plain");
    expectFailure(streamed, 400, "VALIDATION_ERROR");
    expect(
      (await api("POST", "/logout", { token: s.accessToken, rawBody: "", headers: { "Content-Type": "text/plain" } }))
        .status,
    ).toBe(200);
  });

  it("still refuses a non-empty body that is not JSON with 415, streamed or not", async () => {
    const streamed = await postStream("/login", [new TextEncoder().encode("email=a")], "text/plain");
    expectFailure(streamed, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("accepts application/json with a charset parameter and in any case", async () => {
    const user = await registerUser();
    const rawBody = JSON.stringify({ email: user.email, password: user.password });
    for (const contentType of ["application/json; charset=utf-8", "Application/JSON"]) {
      expect((await api("POST", "/login", { rawBody, headers: { "Content-Type": contentType } })).status).toBe(200);
    }
  });

  it("refuses malformed JSON with 400 INVALID_JSON", async () => {
    for (const rawBody of ["{", "{'email': 'a@example.com'}", '{"email": "a@example.com",}', "undefined", "\u0000"]) {
      const res = await api("POST", "/login", { rawBody, headers: { "Content-Type": "application/json" } });
      expectFailure(res, 400, "INVALID_JSON");
    }
  });

  it("refuses JSON that is not an object with 400 VALIDATION_ERROR", async () => {
    for (const rawBody of ["null", "[]", '"text"', "42", "true"]) {
      const res = await api("POST", "/login", { rawBody, headers: { "Content-Type": "application/json" } });
      expectFailure(res, 400, "VALIDATION_ERROR");
    }
  });

  it("accepts a body of exactly 64 KiB and refuses 64 KiB + 1 with 413 PAYLOAD_TOO_LARGE", async () => {
    const headers = { "Content-Type": "application/json" };
    const atLimit = await api("POST", "/login", { rawBody: paddedLoginBody(64 * KIB), headers });
    expectFailure(atLimit, 401, "INVALID_CREDENTIALS");
    const over = await api("POST", "/login", { rawBody: paddedLoginBody(64 * KIB + 1), headers });
    expectFailure(over, 413, "PAYLOAD_TOO_LARGE");
  });

  it("refuses an oversized chunked body that has no Content-Length with 413", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(8 * KIB));
    const res = await postStream(
      "/login",
      Array.from({ length: 10 }, () => chunk),
    );
    expectFailure(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("reads a small chunked body normally", async () => {
    const json = new TextEncoder().encode(JSON.stringify({ email: "nobody@example.com", password: "not-it-at-all" }));
    const res = await postStream("/login", [json.slice(0, 10), json.slice(10)]);
    expectFailure(res, 401, "INVALID_CREDENTIALS");
  });

  it("names at most 20 problems, with their total, so a small body cannot buy a huge answer", async () => {
    const junk = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`k${i}`, 1]));
    const raw = await exports.default.fetch(
      new Request("https://api.test/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": randomIp() },
        body: JSON.stringify(junk),
      }),
    );
    const text = await raw.text();
    expect(text.length).toBeLessThan(4 * KIB);
    const res = { status: raw.status, headers: raw.headers, body: JSON.parse(text) };
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(res.body.error.details).toHaveLength(20);
    expect(res.body.error.detailsTotal).toBeGreaterThanOrEqual(6000);
    const few = await api("POST", "/login", { body: { email: "nope" } });
    expect(few.body.error.detailsTotal).toBeUndefined();
  });

  it("answers deeply nested JSON (under the size limit) with a clean 400, not a crash", async () => {
    const arrays = "[".repeat(30_000) + "]".repeat(30_000);
    const objects = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const headers = { "Content-Type": "application/json" };
    for (const rawBody of [arrays, objects, `{"email":${arrays},"password":"x"}`, `{"username":${objects}}`]) {
      expect(rawBody.length).toBeLessThan(64 * KIB);
      const res = await api("POST", "/register", { rawBody, headers });
      expectFailure(res, 400, "VALIDATION_ERROR");
    }
    expect((await api("GET", "/health")).status).toBe(200);
  });
});

describe("failures never leak internals", () => {
  /** A D1 binding whose every query fails the way D1 does, with SQL in the message. */
  const failingD1 = () => {
    const fail = () =>
      Promise.reject(new Error('D1_ERROR: no such table: users: SQLITE_ERROR select "id" from "users"'));
    const statement = { bind: () => statement, all: fail, raw: fail, run: fail, first: fail };
    const session = { prepare: () => statement, batch: fail, exec: fail, getBookmark: () => null };
    return { ...session, withSession: () => session };
  };
  const post = (body: unknown): RequestInit => ({
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": randomIp() },
    body: JSON.stringify(body),
  });

  // The Worker logs each 500 as an error line; capture them to check what they say.
  let errorLog: MockInstance<typeof console.error>;
  const logged = () => errorLog.mock.calls.flat().join("\n");
  beforeEach(() => {
    errorLog = vi.spyOn(console, "error").mockImplementation(() => {});
  });
  afterEach(() => errorLog.mockRestore());

  it("answers /health with 503 when D1 fails, without the driver's message", async () => {
    expectFailure(await withEnv({ DB: failingD1() }, "/health"), 503, "INTERNAL_ERROR");
  });

  it("answers an unexpected database failure with a bare 500 INTERNAL_ERROR", async () => {
    const s = await registerAndLogin();
    const login = await withEnv(
      { DB: failingD1() },
      "/login",
      post({ email: s.user.email, password: s.user.password }),
    );
    expectFailure(login, 500, "INTERNAL_ERROR");
    const me = await withEnv({ DB: failingD1() }, "/me", { headers: { Authorization: `Bearer ${s.accessToken}` } });
    expectFailure(me, 500, "INTERNAL_ERROR");
    expect(logged()).toContain(me.headers.get("X-Request-Id"));
  });

  it("logs a failed query without its bound parameters (password hash, email)", async () => {
    const email = `${unique("leak_")}@example.com`;
    const res = await withEnv(
      { DB: failingD1() },
      "/register",
      post({ username: unique(), email, password: STRONG_PASSWORD }),
    );
    expectFailure(res, 500, "INTERNAL_ERROR");
    expect(logged()).toContain(res.headers.get("X-Request-Id"));
    expect(logged()).not.toMatch(/\$2[aby]\$/);
    expect(logged()).not.toContain(email);
    expect(logged()).not.toContain(STRONG_PASSWORD);
  });
});

describe("configuration", () => {
  const secret = "short-but-secret-value-1234";

  it("loadConfig refuses a missing JWT_SECRET, naming it", () => {
    const result = loadConfig({} as never);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain("JWT_SECRET");
  });

  it("loadConfig refuses a short JWT_SECRET, naming it but never showing it", () => {
    for (const value of [secret, ""]) {
      const result = loadConfig({ JWT_SECRET: value } as never);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.problem).toContain("JWT_SECRET");
        if (value) expect(result.problem).not.toContain(value);
      }
    }
  });

  it("loadConfig accepts a 32-character secret and applies the documented defaults", () => {
    const mail = { MAIL_API_KEY: "k", APP_URL: "https://app.example" }; // the default provider (resend) needs both
    const result = loadConfig({ JWT_SECRET: "x".repeat(32), ...mail } as never);
    expect(result).toMatchObject({
      ok: true,
      config: {
        BCRYPT_COST: 10,
        PASSWORD_MIN_LENGTH: 12,
        ACCESS_TOKEN_TTL: 900,
        CORS_ORIGINS: [],
        MAIL_PROVIDER: "resend",
      },
    });
  });

  it("answers every request with 503 MISCONFIGURED naming JWT_SECRET when it is missing or short", async () => {
    for (const JWT_SECRET of [undefined, secret]) {
      const res = await withEnv({ JWT_SECRET }, "/health");
      expectFailure(res, 503, "MISCONFIGURED");
      expect(res.body.message).toContain("JWT_SECRET");
      expect(JSON.stringify(res.body)).not.toContain(secret);
    }
  });
});
