/**
 * The SPA's origins: `APP_URL`'s and those in `CORS_ORIGINS`. Social
 * sign-in redirects only to these, and passkeys accept signatures only from
 * these (unless `WEBAUTHN_ORIGINS` says otherwise). An unparseable entry
 * allows nothing.
 */
export function appOrigins(config: { APP_URL?: string; CORS_ORIGINS: string[] }): Set<string> {
  const origins = new Set<string>();
  for (const value of [config.APP_URL, ...config.CORS_ORIGINS]) {
    if (!value) continue;
    try {
      origins.add(new URL(value).origin);
    } catch {
      // skipped: see above
    }
  }
  return origins;
}
