/** Thrown when a provider cannot be reached or answers nonsense: the routes turn it into a sign-in failure, never a 500 with details. */
export class ProviderError extends Error {
  constructor(readonly reason: string) {
    super(`identity provider: ${reason}`);
    this.name = "ProviderError";
  }
}

const TIMEOUT_MS = 10_000;

/**
 * GET a JSON document from a provider, with a timeout. Redirects are not
 * followed: every provider URL is configured, and a redirect would let a
 * compromised endpoint send us elsewhere.
 */
export async function fetchJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: "application/json", "user-agent": "edge-user-management", ...headers },
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    throw new ProviderError(`unreachable: ${new URL(url).origin}`);
  }
  if (!response.ok) throw new ProviderError(`HTTP ${response.status} from ${new URL(url).pathname}`);
  try {
    return await response.json();
  } catch {
    throw new ProviderError(`invalid JSON from ${new URL(url).pathname}`);
  }
}
