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
