import * as z from "zod";
import { AppError } from "../../http/errors";
import { lazySchema } from "../../openapi/lazy-schema";

/**
 * The social sign-in providers, from the `OAUTH_PROVIDERS` secret (JSON, one
 * entry per provider id). `google` is OIDC with Google's issuer preset,
 * `github` is OAuth 2.0 plus GitHub's REST API. Every endpoint a preset uses
 * can be overridden in its entry (that is how tests point them at a local
 * provider).
 */

const GOOGLE_ISSUER = "https://accounts.google.com";
const GITHUB = {
  authorizationUrl: "https://github.com/login/oauth/authorize",
  tokenUrl: "https://github.com/login/oauth/access_token",
  apiUrl: "https://api.github.com",
};

/** Loopback is the only place plain http is accepted: a provider reached over http could be impersonated. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const endpoint = lazySchema(() =>
  z
    .url()
    .refine((u) => {
      const url = new URL(u);
      return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
    }, "must be an https URL")
    .transform((u) => u.replace(/\/+$/, "")),
);

const common = () => ({
  name: z.string().min(1).max(60).optional(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  authorizationUrl: endpoint.optional(),
  tokenUrl: endpoint.optional(),
});
const oidcCommon = () => ({
  ...common(),
  /** Extra audiences accepted in ID tokens (the native apps' client ids). */
  clientIds: z.array(z.string().min(1)).max(20).optional(),
  userinfoUrl: endpoint.optional(),
  scopes: z.array(z.string().min(1)).max(20).optional(),
});

const entrySchema = lazySchema(() =>
  z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("oidc"), issuer: endpoint, ...oidcCommon() }),
    z.strictObject({ type: z.literal("google"), issuer: endpoint.optional(), ...oidcCommon() }),
    z.strictObject({ type: z.literal("github"), apiUrl: endpoint.optional(), ...common() }),
  ]),
);

const providersSchema = lazySchema(() =>
  z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "invalid provider id"), entrySchema),
);

export type OidcProvider = {
  id: string;
  type: "oidc" | "google";
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Every audience an ID token may carry: `clientId` first, then `clientIds`. */
  audiences: string[];
  scopes: string[];
  /** Overrides of what discovery says. */
  authorizationUrl?: string;
  tokenUrl?: string;
  userinfoUrl?: string;
};

export type GithubProvider = {
  id: string;
  type: "github";
  name: string;
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  apiUrl: string;
};

export type Provider = OidcProvider | GithubProvider;
export type Providers = ReadonlyMap<string, Provider>;

const DEFAULT_NAMES = { github: "GitHub", google: "Google" } as const;

function toProvider(id: string, entry: z.infer<typeof entrySchema>): Provider {
  if (entry.type === "github") {
    return {
      id,
      type: "github",
      name: entry.name ?? DEFAULT_NAMES.github,
      clientId: entry.clientId,
      clientSecret: entry.clientSecret,
      authorizationUrl: entry.authorizationUrl ?? GITHUB.authorizationUrl,
      tokenUrl: entry.tokenUrl ?? GITHUB.tokenUrl,
      apiUrl: entry.apiUrl ?? GITHUB.apiUrl,
    };
  }
  const issuer = entry.issuer ?? GOOGLE_ISSUER;
  return {
    id,
    type: entry.type,
    name: entry.name ?? (entry.type === "google" ? DEFAULT_NAMES.google : new URL(issuer).hostname),
    issuer,
    clientId: entry.clientId,
    clientSecret: entry.clientSecret,
    audiences: [entry.clientId, ...(entry.clientIds ?? [])],
    scopes: entry.scopes ?? ["openid", "email", "profile"],
    authorizationUrl: entry.authorizationUrl,
    tokenUrl: entry.tokenUrl,
    userinfoUrl: entry.userinfoUrl,
  };
}

const misconfigured = (why: string) =>
  new AppError(503, "MISCONFIGURED", `Server misconfigured: OAUTH_PROVIDERS ${why}`);

let cached: { raw: string | undefined; providers: Providers } | undefined;

/**
 * Parses `OAUTH_PROVIDERS` (once per isolate and value). Unset or empty means
 * no providers. Bad JSON or an invalid entry throws `503 MISCONFIGURED`
 * naming the variable and the entry, never a value: the JSON holds client
 * secrets. Called by the OAuth routes only, so a bad value never takes the
 * rest of the API down.
 */
export function parseProviders(raw: string | undefined): Providers {
  if (cached && cached.raw === raw) return cached.providers;
  let json: unknown = {};
  if (raw !== undefined && raw.trim() !== "") {
    try {
      json = JSON.parse(raw);
    } catch {
      throw misconfigured("is not valid JSON");
    }
  }
  const result = providersSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` (${issue.path.map(String).join(".")})` : "";
    throw misconfigured(`is invalid${where}`);
  }
  const providers = new Map(Object.entries(result.data).map(([id, entry]) => [id, toProvider(id, entry)]));
  cached = { raw, providers };
  return providers;
}

/** What the SPA needs for its buttons: never secrets or endpoints. */
export const publicProviders = (providers: Providers) =>
  [...providers.values()].map(({ id, name, type }) => ({ id, name, type }));
