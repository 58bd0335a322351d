import { describe, expect, it } from "vitest";
import type * as z from "zod";
import { app } from "../src/app";
import { loginRoute, meRoute } from "../src/auth/routes.defs";
import type { ErrorCode } from "../src/http/errors";
import { buildOpenApiDocument, toOpenApiPath } from "../src/openapi/document";
import { ERROR_CODE_NAMES, ERROR_CODES } from "../src/openapi/error-codes";
import { createPostRoute, getPostRoute, listPostsRoute } from "../src/posts/routes.defs";
import { api, registerUser, registerVerifiedAndLogin, type Session, STRONG_PASSWORD, setRole } from "./support/api";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, any>>;
  components: Record<string, Record<string, any>>;
};

const getDocument = async () => (await api<Doc>("GET", "/openapi.json")).body;

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );

/** "GET /user/{id}" for every route the Hono app really serves (middleware entries are "ALL"). */
const appRoutes = () =>
  new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${toOpenApiPath(r.path)}`));

const documentedRoutes = (doc: Doc) =>
  new Set(
    Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)),
  );

/** Every `$ref` in the document, with where it was found. */
function refs(node: unknown, at = "#"): [string, string][] {
  if (Array.isArray(node)) return node.flatMap((n, i) => refs(n, `${at}/${i}`));
  if (!node || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) =>
    k === "$ref" && typeof v === "string" ? [[v, at] as [string, string]] : refs(v, `${at}/${k}`),
  );
}

const resolvePointer = (doc: Doc, ref: string) =>
  ref
    .slice(2)
    .split("/")
    .reduce<any>((node, key) => node?.[key], doc);

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document served as JSON without authentication", async () => {
    const res = await api<Doc>("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe("3.1.0");
  });

  it("documents every route the app serves", async () => {
    const documented = documentedRoutes(await getDocument());
    const missing = [...appRoutes()].filter((r) => !documented.has(r));
    expect(missing).toEqual([]);
  });

  it("documents no route the app does not serve", async () => {
    const served = appRoutes();
    const extra = [...documentedRoutes(await getDocument())].filter((r) => !served.has(r));
    expect(extra).toEqual([]);
  });

  it("resolves every $ref inside the document", async () => {
    const doc = await getDocument();
    const dangling = refs(doc).filter(([ref]) => !ref.startsWith("#/") || resolvePointer(doc, ref) === undefined);
    expect(dangling).toEqual([]);
  });

  it("has the failure envelope and every error code", async () => {
    const { components } = await getDocument();
    expect(components.schemas).toHaveProperty("Failure");
    expect(components.schemas?.ErrorCode?.enum).toEqual(ERROR_CODE_NAMES);
  });

  it("describes the body of every response of every operation (redirects have none)", async () => {
    const undescribed = operations(await getDocument()).flatMap(({ method, path, op }) =>
      Object.entries<any>(op.responses)
        .filter(([status]) => !status.startsWith("3"))
        .filter(([, r]) => !Object.values<any>(r.content ?? {}).some((media) => media.schema))
        .map(([status]) => `${method.toUpperCase()} ${path} ${status}`),
    );
    expect(undescribed).toEqual([]);
  });

  it("says in every error response which codes it carries, at their status", async () => {
    for (const { method, path, op } of operations(await getDocument())) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (status.startsWith("2") || status.startsWith("3")) continue;
        const schema = response.content["application/json"].schema;
        const where = `${method.toUpperCase()} ${path} ${status}`;
        expect(schema.properties.statusCode.enum, where).toEqual([Number(status)]);
        const codes: ErrorCode[] = schema.properties.error.properties.code.enum;
        for (const code of codes) {
          expect(response.description, where).toContain(`\`${code}\``);
          // Only the health check answers a code away from its usual status (503 when D1 is down).
          if (path !== "/health") expect(ERROR_CODES[code].status, `${where} ${code}`).toBe(Number(status));
        }
      }
      // Any route can fail unexpectedly or run misconfigured.
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["500", "503"]));
    }
  });

  it("gives every operation a unique operationId and a success response (or a redirect)", async () => {
    const ops = Object.values((await getDocument()).paths).flatMap((item) => Object.values(item));
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of ops) expect(Object.keys(op.responses).some((s) => /^[23]/.test(s))).toBe(true);
  });

  it("marks bearer operations as secured and says they can answer 401", async () => {
    const doc = await getDocument();
    expect(doc.paths["/me"]?.get.security).toEqual([{ bearerAuth: [] }]);
    const unauthorized = doc.paths["/me"]?.get.responses["401"];
    expect(unauthorized.content["application/json"].schema.properties.error.properties.code.enum).toEqual([
      "UNAUTHORIZED",
    ]);
    expect(unauthorized.headers).toHaveProperty("WWW-Authenticate");
    expect(doc.paths["/login"]?.post.security).toEqual([]);
  });
});

/**
 * The document's request bodies come from the validators' schemas. This checks
 * each route really uses the schema it documents: where the document says a
 * body needs fields (or at least one), an empty one must be refused, naming
 * exactly the fields the document marks required.
 */
describe("documented request bodies match what the routes enforce", () => {
  const probes = operations(buildOpenApiDocument(app) as unknown as Doc)
    .map(({ method, path, op }) => ({ method, path, schema: op.requestBody?.content["application/json"].schema }))
    .filter(({ schema }) => schema?.required?.length || schema?.minProperties);
  it("finds the bodies to probe", () => expect(probes.length).toBeGreaterThan(10));

  // An admin passes every role check, so each route gets as far as its body validator.
  let admin: Promise<Session> | undefined;
  const adminSession = () =>
    (admin ??= registerVerifiedAndLogin().then(async (s) => {
      await setRole(s.user.id, "admin");
      return s;
    }));

  it.each(probes)("$method $path refuses {} as the document says", async (op) => {
    const { accessToken } = await adminSession();
    const path = op.path.replace(/\{\w+\}/g, crypto.randomUUID());
    const res = await api(op.method.toUpperCase(), path, { body: {}, token: accessToken });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    // A body with required fields is refused for exactly those; one with none (a PATCH) for being empty.
    const fields = res.body.error.details.map((d: { path: string }) => d.path).sort();
    const required: string[] = op.schema.required ?? [];
    if (required.length) expect(fields).toEqual([...required].sort());
  });
});

describe("GET /docs", () => {
  it("is Scalar's reference from this origin only, under a CSP that allows nothing else", async () => {
    const res = await api<string>("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'self' 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // No other origin anywhere in the policy, and scripts never inline without the nonce.
    expect(csp).not.toMatch(/https?:|\*/);
    expect(/script-src[^;]*unsafe/.test(csp)).toBe(false);
    // The bundle is the static asset next to the Worker; the inline configuration carries the nonce.
    const scripts = res.body.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts).toEqual(['<script src="/docs/scalar.js">', `<script nonce="${nonce}">`]);
    expect(res.body).toContain('"url":"/openapi.json"');
    // Nothing that would call a Scalar service from the reader's browser.
    expect(res.body).toContain('"telemetry":false');
    expect(res.body).toContain('"withDefaultFonts":false');
    expect(res.body).not.toMatch(/https?:\/\//);
  });

  it("uses a fresh nonce on every load", async () => {
    const nonceOf = async () =>
      /'nonce-([^']+)'/.exec((await api("GET", "/docs")).headers.get("content-security-policy") ?? "")?.[1];
    expect(await nonceOf()).not.toBe(await nonceOf());
  });
});

/**
 * The declarations are the contract: real answers must parse with the very
 * zod schemas the document is generated from, success and failure alike.
 */
describe("real answers match their route's declared response schemas", () => {
  const declared = (route: { responses: Record<number, any> }, status: number) =>
    route.responses[status].content["application/json"].schema as z.ZodType;

  it("for a login, /me, a post, a page of posts and the failures on the way", async () => {
    const user = await registerUser();
    const login = await api("POST", "/login", { body: { email: user.email, password: STRONG_PASSWORD } });
    expect(declared(loginRoute, 200).parse(login.body)).toEqual(login.body);
    const token = login.body.data.accessToken;

    const me = await api("GET", "/me", { token });
    expect(declared(meRoute, 200).parse(me.body)).toEqual(me.body);
    const created = await api("POST", "/posts", { token, body: { title: "Declared", content: "Shape" } });
    expect(declared(createPostRoute, 201).parse(created.body)).toEqual(created.body);
    const list = await api("GET", "/posts?limit=2", { token });
    expect(declared(listPostsRoute, 200).parse(list.body)).toEqual(list.body);

    const wrong = await api("POST", "/login", { body: { email: user.email, password: `${STRONG_PASSWORD}x` } });
    expect(declared(loginRoute, 401).parse(wrong.body)).toEqual(wrong.body);
    const missing = await api("GET", `/posts/${crypto.randomUUID()}`, { token });
    expect(declared(getPostRoute, 404).parse(missing.body)).toEqual(missing.body);
    // A code the route does not declare at that status would not parse.
    expect(declared(getPostRoute, 404).safeParse({ ...missing.body, error: { code: "CONFLICT" } }).success).toBe(false);
  });
});
