/**
 * A software WebAuthn authenticator and browser, written from the spec (W3C
 * WebAuthn Level 3, RFC 8949 CBOR, RFC 9053 COSE) with Web Crypto and a
 * hand-written CBOR encoder: nothing here comes from the code under test, so
 * a ceremony it completes is evidence, not an echo. Each instance holds its
 * own key pair; the knobs let a test play a phishing page (origin), another
 * relying party (rpId), an authenticator without user verification or
 * presence, or a cloned one whose counter goes backwards.
 */

export type Algorithm = "ES256" | "RS256" | "EdDSA";

/** What a test can bend in one ceremony. */
export type Knobs = {
  origin?: string;
  rpId?: string;
  userPresent?: boolean;
  userVerified?: boolean;
  /** The signature counter to report (by default the previous one plus one). */
  counter?: number;
  /** clientDataJSON.type, normally webauthn.create / webauthn.get. */
  type?: string;
  /** A challenge to sign instead of the one in the options. */
  challenge?: string;
};

type CreationOptions = {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  pubKeyCredParams: { type: string; alg: number }[];
  excludeCredentials?: { id: string }[];
};
type RequestOptions = { challenge: string; rpId?: string; allowCredentials?: { id: string }[] };

export type RegistrationResponse = {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: "platform";
};
export type AuthenticationResponse = {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
};

const COSE_ALG: Record<Algorithm, number> = { ES256: -7, RS256: -257, EdDSA: -8 };
const GEN: Record<Algorithm, { name: string; [param: string]: unknown }> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  EdDSA: { name: "Ed25519" },
};

export class SoftwareAuthenticator {
  readonly credentialId = crypto.getRandomValues(new Uint8Array(32));
  /** The user handle the relying party gave at registration (returned in assertions, as a passkey does). */
  userHandle: string | undefined;
  counter = 0;
  /** Backup eligible and backed up (a synced passkey) or not (a security key). */
  synced = true;

  private constructor(
    readonly algorithm: Algorithm,
    private readonly keys: CryptoKeyPair,
    readonly origin: string,
  ) {}

  static async create(origin: string, algorithm: Algorithm = "ES256"): Promise<SoftwareAuthenticator> {
    const keys = (await crypto.subtle.generateKey(GEN[algorithm], true, ["sign", "verify"])) as CryptoKeyPair;
    return new SoftwareAuthenticator(algorithm, keys, origin);
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** navigator.credentials.create() with this authenticator, attestation "none". */
  async register(options: CreationOptions, knobs: Knobs = {}): Promise<RegistrationResponse> {
    if (!options.pubKeyCredParams.some((p) => p.alg === COSE_ALG[this.algorithm]))
      throw new Error(`the relying party does not offer ${this.algorithm}`);
    if (options.excludeCredentials?.some((c) => c.id === this.id)) throw new Error("InvalidStateError: excluded");
    const rpId = knobs.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
    const clientDataJSON = this.clientData("webauthn.create", options.challenge, knobs);
    const attested = concat(
      new Uint8Array(16), // AAGUID: zeros, as attestation "none" reports it
      u16(this.credentialId.length),
      this.credentialId,
      encodeCbor(await this.coseKey()),
    );
    const authData = await this.authenticatorData(rpId, knobs, 0x40, attested);
    const attestationObject = encodeCbor(
      new Map<string, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    this.userHandle = options.user.id;
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** navigator.credentials.get(): signs authenticatorData ‖ SHA-256(clientDataJSON). */
  async assert(options: RequestOptions, knobs: Knobs = {}): Promise<AuthenticationResponse> {
    const rpId = knobs.rpId ?? options.rpId ?? new URL(this.origin).hostname;
    this.counter = knobs.counter ?? this.counter + 1;
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, knobs);
    const authData = await this.authenticatorData(rpId, knobs, 0);
    const signed = concat(authData, new Uint8Array(await crypto.subtle.digest("SHA-256", clientDataJSON)));
    const signature = await this.sign(signed);
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
    };
  }

  private clientData(type: string, challenge: string, knobs: Knobs): Uint8Array {
    const json = JSON.stringify({
      type: knobs.type ?? type,
      challenge: knobs.challenge ?? challenge,
      origin: knobs.origin ?? this.origin,
      crossOrigin: false,
    });
    return new TextEncoder().encode(json);
  }

  private async authenticatorData(rpId: string, knobs: Knobs, extraFlags: number, attested?: Uint8Array) {
    let flags = extraFlags;
    if (knobs.userPresent ?? true) flags |= 0x01;
    if (knobs.userVerified ?? true) flags |= 0x04;
    if (this.synced) flags |= 0x08 | 0x10;
    const rpIdHash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(rpId)));
    const counter = attested ? (knobs.counter ?? this.counter) : this.counter;
    return concat(rpIdHash, new Uint8Array([flags]), u32(counter), attested ?? new Uint8Array());
  }

  private async coseKey(): Promise<Map<number, Cbor>> {
    const jwk = (await crypto.subtle.exportKey("jwk", this.keys.publicKey)) as JsonWebKey;
    const bytes = (s: string | undefined) => unb64url(s ?? "");
    if (this.algorithm === "ES256")
      return new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, bytes(jwk.x)],
        [-3, bytes(jwk.y)],
      ]);
    if (this.algorithm === "RS256")
      return new Map<number, Cbor>([
        [1, 3],
        [3, -257],
        [-1, bytes(jwk.n)],
        [-2, bytes(jwk.e)],
      ]);
    return new Map<number, Cbor>([
      [1, 1],
      [3, -8],
      [-1, 6],
      [-2, bytes(jwk.x)],
    ]);
  }

  private async sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.algorithm === "ES256") {
      const raw = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, data),
      );
      return derSignature(raw); // WebAuthn carries ECDSA signatures DER-encoded
    }
    return new Uint8Array(await crypto.subtle.sign(GEN[this.algorithm].name, this.keys.privateKey, data));
  }
}

/** A request for a fresh login assertion, for tests that replay or tamper with one. */
export const base64url = { encode: b64url, decode: unb64url };

// --- encodings -------------------------------------------------------------

export type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;

/** The subset of CBOR (RFC 8949) that attestation objects and COSE keys use. */
export function encodeCbor(value: Cbor): Uint8Array<ArrayBuffer> {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  const parts = [head(5, value.size)];
  for (const [k, v] of value) parts.push(encodeCbor(k), encodeCbor(v));
  return concat(...parts);
}

function head(major: number, n: number): Uint8Array<ArrayBuffer> {
  if (n < 24) return new Uint8Array([(major << 5) | n]);
  if (n < 0x100) return new Uint8Array([(major << 5) | 24, n]);
  if (n < 0x10000) return concat(new Uint8Array([(major << 5) | 25]), u16(n));
  return concat(new Uint8Array([(major << 5) | 26]), u32(n));
}

/** IEEE P1363 r‖s (what Web Crypto returns) to the ASN.1 DER SEQUENCE WebAuthn uses. */
function derSignature(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const v = (bytes[i] ?? 0) & 0x80 ? concat(new Uint8Array([0]), bytes.slice(i)) : bytes.slice(i);
    return concat(new Uint8Array([0x02, v.length]), v);
  };
  const body = concat(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

const u16 = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
const u32 = (n: number) => new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function unb64url(s: string): Uint8Array {
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}
