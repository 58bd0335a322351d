import type { Config } from "../../env";
import { appOrigins } from "../../http/app-origins";

/** The relying party as the passkey services see it. */
export type PasskeyConfig = {
  rpId: string;
  rpName: string;
  /** Exact origins (scheme://host[:port]) whose pages may sign; clientDataJSON.origin must be one of them. */
  origins: string[];
};

/**
 * Resolves WEBAUTHN_RP_ID (default: the host of APP_URL), WEBAUTHN_RP_NAME
 * (default: APP_NAME) and WEBAUTHN_ORIGINS (default: APP_URL plus
 * CORS_ORIGINS). Null when no RP ID can be known: it is never taken from the
 * request's Host header, which whoever sends the request chooses, so the
 * routes answer 503 MISCONFIGURED instead.
 */
export function passkeyConfig(
  config: Pick<
    Config,
    "WEBAUTHN_RP_ID" | "WEBAUTHN_RP_NAME" | "WEBAUTHN_ORIGINS" | "APP_URL" | "APP_NAME" | "CORS_ORIGINS"
  >,
): PasskeyConfig | null {
  const rpId = (
    config.WEBAUTHN_RP_ID ?? (config.APP_URL ? new URL(config.APP_URL).hostname : undefined)
  )?.toLowerCase();
  if (!rpId) return null;
  const origins = config.WEBAUTHN_ORIGINS ?? [...appOrigins(config)];
  return {
    rpId,
    rpName: config.WEBAUTHN_RP_NAME ?? config.APP_NAME,
    origins: [...new Set(origins.map((o) => new URL(o).origin))],
  };
}
