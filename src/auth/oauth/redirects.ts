/**
 * The origins an SPA may ask to be sent back to after a social sign-in:
 * `APP_URL`'s and those in `CORS_ORIGINS`, nothing else. A `redirect_uri`
 * anywhere else is refused with 400 before anything is stored or any
 * redirect happens, so the API cannot be used as an open redirect (or to
 * deliver a login code to someone else's page).
 */
export function allowedRedirectOrigins(config: { APP_URL?: string; CORS_ORIGINS: string[] }): Set<string> {
  const origins = new Set<string>();
  for (const value of [config.APP_URL, ...config.CORS_ORIGINS]) {
    if (!value) continue;
    try {
      origins.add(new URL(value).origin);
    } catch {
      // An unparseable CORS origin allows nothing.
    }
  }
  return origins;
}

/** True when `uri` is an absolute http(s) URL on an allowed origin, without credentials or fragment. */
export function isAllowedRedirect(origins: Set<string>, uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  if (url.username || url.password || url.hash) return false;
  return origins.has(url.origin);
}

/** A PKCE S256 challenge: base64url of a SHA-256, 43 characters. */
export const isS256Challenge = (challenge: string) => /^[A-Za-z0-9_-]{43}$/.test(challenge);
