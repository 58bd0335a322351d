import { env, exports } from "cloudflare:workers";

export type ApiResponse<T = any> = {
  status: number;
  headers: Headers;
  body: T;
};

export type CallOptions = {
  body?: unknown;
  /** Raw body text, sent as is (for malformed JSON tests). */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
  /** CF-Connecting-IP; a random one by default so rate limits do not couple tests. */
  ip?: string;
};

export const randomIp = () => `10.${rand255()}.${rand255()}.${rand255()}`;
const rand255 = () => Math.floor(Math.random() * 256);

export const unique = (prefix = "u") => `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;

/** The Request a client would send: JSON body, bearer token, and a client IP. */
export function buildRequest(method: string, path: string, options: CallOptions = {}): Request {
  const headers = new Headers(options.headers);
  if (!headers.has("CF-Connecting-IP")) headers.set("CF-Connecting-IP", options.ip ?? randomIp());
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body = options.rawBody;
  if (body === undefined && options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  return new Request(`https://api.test${path}`, { method, headers, body });
}

export async function readResponse<T>(response: Response): Promise<ApiResponse<T>> {
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // HTML pages and empty bodies stay text.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Sends a request through the Worker's real fetch handler, as a client would. */
export async function api<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  return readResponse<T>(await exports.default.fetch(buildRequest(method, path, options)));
}

export const STRONG_PASSWORD = "correct-horse-battery-9";

/** The fields of the public User object, sorted: the contract's shape, and nothing more (no hash). */
export const PUBLIC_USER_KEYS = [
  "createdAt",
  "email",
  "emailVerified",
  "id",
  "mfaEnabled",
  "pendingEmail",
  "role",
  "status",
  "updatedAt",
  "username",
];

export type TestUser = {
  id: string;
  username: string;
  email: string;
  password: string;
};

export async function registerUser(overrides: Partial<Omit<TestUser, "id">> = {}): Promise<TestUser> {
  const username = overrides.username ?? unique("user_");
  const input = {
    username,
    email: overrides.email ?? `${username.toLowerCase()}@example.com`,
    password: overrides.password ?? STRONG_PASSWORD,
  };
  const res = await api("POST", "/register", { body: input });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...input, id: res.body.data.user.id };
}

export type Session = { accessToken: string; refreshToken: string; user: TestUser };

export async function login(user: TestUser, options: CallOptions = {}): Promise<Session> {
  const res = await api("POST", "/login", { ...options, body: { email: user.email, password: user.password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { accessToken: res.body.data.accessToken, refreshToken: res.body.data.refreshToken, user };
}

export async function registerAndLogin(overrides: Partial<Omit<TestUser, "id">> = {}): Promise<Session> {
  return login(await registerUser(overrides));
}

/**
 * POST /verify-email as the app sends it: the emailed token with the bearer of the
 * signed-in account (N1: the link proves the mailbox, the session proves the account).
 */
export const verifyEmail = (session: { accessToken: string } | undefined, token: string, options: CallOptions = {}) =>
  api("POST", "/verify-email", { ...options, token: session?.accessToken, body: { token } });

/** Marks the user's email verified directly in D1, as the holder's signed-in click on the link would (`verifyEmail`). */
export const markEmailVerified = (userId: string) =>
  env.DB.prepare("update users set email_verified_at = ? where id = ?").bind(new Date().toISOString(), userId).run();

/** `registerAndLogin` with the email verified: sign-in methods (passkeys, TOTP, identities) attach only then. */
export async function registerVerifiedAndLogin(overrides: Partial<Omit<TestUser, "id">> = {}): Promise<Session> {
  const user = await registerUser(overrides);
  await markEmailVerified(user.id);
  return login(user);
}

/** Makes a user an admin or moderator directly in D1, as `npm run create-admin` would. */
export async function setRole(userId: string, role: "user" | "moderator" | "admin") {
  await env.DB.prepare("update users set role = ? where id = ?").bind(role, userId).run();
}
