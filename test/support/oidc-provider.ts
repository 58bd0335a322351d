import { createHash, createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { readBody } from "./mail-server";
import { TEST_OAUTH_CLIENT } from "./oidc-client";

/**
 * A stand-in for the outside world's identity providers, like the mail
 * capture server: a real OpenID Connect provider over HTTP, plus a
 * GitHub-shaped REST API, so the Worker's OAuth code runs the real protocol.
 *
 * - `GET /.well-known/openid-configuration`, `GET /jwks` (an RS256 and an ES256 key; rotatable)
 * - `GET /authorize`: consents at once and redirects back with `code` and `state`. Who signs in
 *   is chosen by the test through extra query parameters on the authorization URL:
 *   `as_sub`, `as_email`, `as_email_verified` (`true`/`false`), `as_error` (for example
 *   `access_denied`), `as_alg` (`ES256` signs the ID token with the EC key), `as_nonce`
 *   (puts another nonce in the ID token), `as_userinfo_only=true` (email only from /userinfo, not
 *   in the ID token, as some providers do), `as_userinfo_sub` (/userinfo names another subject).
 * - `POST /token`: authorization_code only, client secret (Basic or body) checked, PKCE S256
 *   verified, `redirect_uri` compared, each code single use.
 * - `GET /userinfo`, `GET /github/user`, `GET /github/user/emails` (Bearer access token).
 * - Test controls: `POST /test/id-token` signs any claims (`alg`: RS256, ES256, none,
 *   HS256-public (HMAC keyed with the public key), `key: "unknown"` for an unpublished key),
 *   `POST /test/rotate` makes a new RS256 key current (the previous one stays published, as real
 *   providers do during a rotation), `GET /test/stats` counts JWKS and discovery fetches.
 * - Every path also answers under `/t/<tenant>/…` as a separate issuer `…/t/<tenant>` with its own
 *   counters, so test files running in parallel do not see each other's fetches.
 *
 * Listens on 127.0.0.1 only. Started by test/global-setup.ts; its URL is the `oidcUrl` provided to tests.
 */

type SigningKey = { kid: string; alg: "RS256" | "ES256"; privateKey: KeyObject; publicKey: KeyObject };
type Person = { sub: string; email: string; emailVerified: boolean };
type Grant = Person & {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
  scope: string;
  alg: "RS256" | "ES256";
  userinfoOnly: boolean;
  userinfoSub: string | null;
};

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

const newKey = (alg: "RS256" | "ES256"): SigningKey => {
  const pair =
    alg === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid: `${alg.toLowerCase()}-${randomBytes(6).toString("hex")}`, alg, ...pair };
};

export type SignAlg = "RS256" | "ES256" | "none" | "HS256-public";

/** Signs a JWT with one of the keys (or, for attacks, with none, or HMAC keyed with a public key). */
function signJwt(claims: Record<string, unknown>, alg: SignAlg, key: SigningKey): string {
  const headerAlg = alg === "HS256-public" ? "HS256" : alg;
  const header = b64url(JSON.stringify({ alg: headerAlg, typ: "JWT", kid: key.kid }));
  const input = `${header}.${b64url(JSON.stringify(claims))}`;
  if (alg === "none") return `${input}.`;
  if (alg === "HS256-public") {
    const pem = key.publicKey.export({ type: "spki", format: "pem" });
    return `${input}.${b64url(createHmac("sha256", pem).update(input).digest())}`;
  }
  const signature =
    alg === "RS256"
      ? sign("sha256", Buffer.from(input), key.privateKey)
      : sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(signature)}`;
}

/** Client credentials from HTTP Basic (form-urlencoded parts, RFC 6749 2.3.1) or the body. */
function clientOf(req: IncomingMessage, form: URLSearchParams) {
  const basic = req.headers.authorization?.match(/^Basic (.+)$/)?.[1];
  if (basic) {
    const [id = "", secret = ""] = Buffer.from(basic, "base64").toString().split(":");
    return { id: decodeURIComponent(id), secret: decodeURIComponent(secret) };
  }
  return { id: form.get("client_id") ?? "", secret: form.get("client_secret") ?? "" };
}

export function startOidcProvider(): Promise<{ server: Server; url: string }> {
  let rsa = newKey("RS256");
  let previousRsa: SigningKey | null = null;
  const ec = newKey("ES256");
  const unpublished = newKey("RS256");
  const codes = new Map<string, Grant>();
  const accessTokens = new Map<string, Grant>();
  const statsByIssuer = new Map<string, { jwksFetches: number; discoveryFetches: number }>();
  let base = "";

  const idTokenFor = (issuer: string, grant: Grant, nonce: string | null) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: grant.sub,
      aud: grant.clientId,
      iat: now,
      exp: now + 300,
      name: `Test ${grant.sub}`,
    };
    if (!grant.userinfoOnly) Object.assign(claims, { email: grant.email, email_verified: grant.emailVerified });
    if (nonce !== null) claims.nonce = nonce;
    return signJwt(claims, grant.alg, grant.alg === "ES256" ? ec : rsa);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", base);
    const tenant = url.pathname.match(/^\/t\/([a-z0-9-]+)(\/.*)$/);
    const issuer = tenant ? `${base}/t/${tenant[1]}` : base;
    if (tenant) url.pathname = tenant[2] ?? "/";
    let stats = statsByIssuer.get(issuer);
    if (!stats) {
      stats = { jwksFetches: 0, discoveryFetches: 0 };
      statsByIssuer.set(issuer, stats);
    }
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
      res.end(JSON.stringify(body));
    };
    const bearer = () => accessTokens.get(req.headers.authorization?.match(/^Bearer (.+)$/)?.[1] ?? "");
    const q = (name: string) => url.searchParams.get(name);

    if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
      stats.discoveryFetches++;
      return send(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256", "ES256"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      });
    }
    if (req.method === "GET" && url.pathname === "/jwks") {
      stats.jwksFetches++;
      const jwk = (k: SigningKey) => ({ ...k.publicKey.export({ format: "jwk" }), kid: k.kid, alg: k.alg, use: "sig" });
      return send(200, { keys: [rsa, previousRsa, ec].filter((k) => k !== null).map(jwk) });
    }
    if (req.method === "GET" && url.pathname === "/authorize") {
      const redirectUri = q("redirect_uri");
      if (q("client_id") !== TEST_OAUTH_CLIENT.id || !redirectUri || q("response_type") !== "code")
        return send(400, { error: "invalid_request" });
      const back = new URL(redirectUri);
      const state = q("state");
      if (state !== null) back.searchParams.set("state", state);
      const error = q("as_error");
      if (error) {
        back.searchParams.set("error", error);
        return send(302, {}, { location: back.href });
      }
      if (q("code_challenge") && q("code_challenge_method") !== "S256") return send(400, { error: "invalid_request" });
      const sub = q("as_sub") ?? `user-${randomBytes(6).toString("hex")}`;
      const code = randomBytes(24).toString("base64url");
      codes.set(code, {
        sub,
        email: q("as_email") ?? `${sub}@idp.test`,
        emailVerified: q("as_email_verified") !== "false",
        clientId: TEST_OAUTH_CLIENT.id,
        redirectUri,
        codeChallenge: q("code_challenge"),
        nonce: q("as_nonce") ?? q("nonce"),
        scope: q("scope") ?? "",
        alg: q("as_alg") === "ES256" ? "ES256" : "RS256",
        userinfoOnly: q("as_userinfo_only") === "true",
        userinfoSub: q("as_userinfo_sub"),
      });
      back.searchParams.set("code", code);
      return send(302, {}, { location: back.href });
    }
    if (req.method === "POST" && url.pathname === "/token") {
      const form = new URLSearchParams(await readBody(req));
      const client = clientOf(req, form);
      if (client.id !== TEST_OAUTH_CLIENT.id || client.secret !== TEST_OAUTH_CLIENT.secret)
        return send(401, { error: "invalid_client" });
      if (form.get("grant_type") !== "authorization_code") return send(400, { error: "unsupported_grant_type" });
      const code = form.get("code") ?? "";
      const grant = codes.get(code);
      codes.delete(code); // single use, whatever happens next
      if (!grant || grant.redirectUri !== form.get("redirect_uri")) return send(400, { error: "invalid_grant" });
      const verifier = form.get("code_verifier");
      if (grant.codeChallenge !== null) {
        const expected = verifier && createHash("sha256").update(verifier).digest("base64url");
        if (expected !== grant.codeChallenge) return send(400, { error: "invalid_grant", error_description: "PKCE" });
      }
      const accessToken = randomBytes(24).toString("base64url");
      accessTokens.set(accessToken, grant);
      const body: Record<string, unknown> = { access_token: accessToken, token_type: "Bearer", expires_in: 3600 };
      if (grant.scope.split(" ").includes("openid")) body.id_token = idTokenFor(issuer, grant, grant.nonce);
      return send(200, body);
    }
    if (req.method === "GET" && url.pathname === "/userinfo") {
      const grant = bearer();
      if (!grant) return send(401, { error: "invalid_token" });
      return send(200, {
        sub: grant.userinfoSub ?? grant.sub,
        email: grant.email,
        email_verified: grant.emailVerified,
      });
    }
    if (req.method === "GET" && url.pathname === "/github/user") {
      const grant = bearer();
      if (!grant) return send(401, { message: "Bad credentials" });
      // GitHub's numeric id is the subject; the public email may be anything (or null), never trusted.
      return send(200, { id: Number(grant.sub) || 0, login: grant.sub, name: null, email: null });
    }
    if (req.method === "GET" && url.pathname === "/github/user/emails") {
      const grant = bearer();
      if (!grant) return send(401, { message: "Bad credentials" });
      return send(200, [
        { email: `secondary-${grant.sub}@idp.test`, primary: false, verified: true, visibility: null },
        { email: grant.email, primary: true, verified: grant.emailVerified, visibility: "private" },
      ]);
    }
    if (req.method === "POST" && url.pathname === "/test/id-token") {
      const {
        claims,
        alg = "RS256",
        key,
      } = JSON.parse(await readBody(req)) as {
        claims: Record<string, unknown>;
        alg?: SignAlg;
        key?: "unknown";
      };
      const signer = key === "unknown" ? unpublished : alg === "ES256" ? ec : rsa;
      return send(200, { idToken: signJwt(claims, alg, signer) });
    }
    if (req.method === "POST" && url.pathname === "/test/rotate") {
      previousRsa = rsa;
      rsa = newKey("RS256");
      return send(200, { kid: rsa.kid });
    }
    if (req.method === "GET" && url.pathname === "/test/stats") return send(200, stats);
    send(404, { error: "not_found" });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      base = `http://127.0.0.1:${port}`;
      resolve({ server, url: base });
    });
  });
}
