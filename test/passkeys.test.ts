import { env } from "cloudflare:workers";
import { type SQL, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditInsertWhere } from "../src/audit/audit";
import { parseAuthenticatorData } from "../src/auth/passkeys/authenticator-data";
import { decodeCbor, decodeCborExactly } from "../src/auth/passkeys/cbor";
import { passkeyConfig } from "../src/auth/passkeys/config";
import { loginOptions, verifyPasskeyLogin } from "../src/auth/passkeys/login";
import { listPasskeys, removePasskey, renamePasskey } from "../src/auth/passkeys/manage";
import { derToP1363 } from "../src/auth/passkeys/public-key";
import { registrationOptions, verifyRegistration } from "../src/auth/passkeys/registration";
import { authenticationResponseSchema, registrationResponseSchema } from "../src/auth/passkeys/schemas";
import { NO_PASSWORD } from "../src/auth/sign-in-methods";
import { registerUser, unique } from "./support/api";
import { base64url, type Cbor, encodeCbor, SoftwareAuthenticator } from "./support/authenticator";
import { rows } from "./support/db";
import { CALLER, ORIGIN, passkeyDeps, signedLogin, withPasskey } from "./support/passkeys";

const removePassword = (userId: string) =>
  env.DB.prepare("update users set password_hash = ?, has_password = 0 where id = ?").bind(NO_PASSWORD, userId).run();

describe("passkey configuration", () => {
  const base = { APP_NAME: "Edge Users", CORS_ORIGINS: [] as string[], WEBAUTHN_ORIGINS: undefined };

  it("defaults the RP ID to APP_URL's host, the name to APP_NAME, the origins to APP_URL plus CORS_ORIGINS", () => {
    expect(
      passkeyConfig({
        ...base,
        APP_URL: "https://app.example.com:8443/x",
        CORS_ORIGINS: ["https://admin.example.com"],
      }),
    ).toEqual({
      rpId: "app.example.com",
      rpName: "Edge Users",
      origins: ["https://app.example.com:8443", "https://admin.example.com"],
    });
  });

  it("takes WEBAUTHN_* over the defaults, and never guesses an RP ID", () => {
    expect(
      passkeyConfig({
        ...base,
        APP_URL: "https://app.example.com",
        WEBAUTHN_RP_ID: "Example.com",
        WEBAUTHN_RP_NAME: "Example",
        WEBAUTHN_ORIGINS: ["https://login.example.com/"],
      }),
    ).toEqual({ rpId: "example.com", rpName: "Example", origins: ["https://login.example.com"] });
    expect(passkeyConfig({ ...base })).toBeNull();
  });
});

describe("passkey registration", () => {
  it("offers a fresh challenge, an opaque user handle, ES256/EdDSA/RS256, UV required, attestation none", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const options = await registrationOptions(deps, user, CALLER);
    expect(options.rp).toEqual({ id: "api.test", name: "Edge Users" });
    expect(options.user.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.user.id).not.toContain(user.id);
    expect(base64url.decode(options.user.id)).toHaveLength(32);
    expect(options.user.name).toBe(user.email);
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
    expect(options.authenticatorSelection).toEqual({
      residentKey: "preferred",
      requireResidentKey: false,
      userVerification: "required",
    });
    expect(options.attestation).toBe("none");
    expect(options.excludeCredentials).toEqual([]);
    const again = await registrationOptions(deps, user, CALLER);
    expect(again.user.id).toBe(options.user.id);
    expect(again.challenge).not.toBe(options.challenge);
  });

  it.each(["ES256", "EdDSA", "RS256"] as const)("registers a %s passkey and signs in with it", async (algorithm) => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator, passkey } = await withPasskey(deps, user, algorithm);
    expect(passkey).toEqual({
      id: authenticator.id,
      name: "Passkey",
      createdAt: expect.any(String),
      lastUsedAt: null,
      backedUp: true,
      deviceType: "multiDevice",
    });
    const { challengeId, response } = await signedLogin(deps, authenticator, user.email);
    expect(authenticationResponseSchema.safeParse(response).success).toBe(true);
    expect(await verifyPasskeyLogin(deps, challengeId, response)).toEqual({
      ok: true,
      userId: user.id,
      passkeyId: authenticator.id,
      userVerified: true,
    });
    const [listed] = await listPasskeys(deps.db, user.id);
    expect(listed?.lastUsedAt).not.toBeNull();
  });

  it("stores nothing, and audits nothing, when the caller's condition (its session) no longer holds", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const response = await authenticator.register(await registrationOptions(deps, user, CALLER));
    const also = (holds: SQL) =>
      auditInsertWhere(deps.db, { action: "passkey_add", actorId: user.id, targetId: user.id, ip: "" }, holds);
    expect(await verifyRegistration(deps, user.id, CALLER, response, undefined, { holds: sql`0`, also })).toMatchObject(
      {
        ok: false,
      },
    );
    expect(await rows("select id from passkey_credentials where user_id = ?", user.id)).toEqual([]);
    expect(await rows("select id from audit_events where target_id = ? and action = 'passkey_add'", user.id)).toEqual(
      [],
    );
  });

  it("stores a name, reports a single-device key as such, and excludes registered passkeys from the next options", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    authenticator.synced = false;
    const response = await authenticator.register(await registrationOptions(deps, user, CALLER));
    expect(registrationResponseSchema.safeParse(response).success).toBe(true);
    const result = await verifyRegistration(deps, user.id, CALLER, response, "  YubiKey  ");
    expect(result).toMatchObject({
      ok: true,
      passkey: { name: "YubiKey", backedUp: false, deviceType: "singleDevice" },
    });
    const next = await registrationOptions(deps, user, CALLER);
    expect(next.excludeCredentials).toEqual([{ id: authenticator.id, type: "public-key", transports: ["internal"] }]);
    await expect(authenticator.register(next)).rejects.toThrow(/excluded/);
  });

  it("never stores the key or counter where the API shows a passkey", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    await withPasskey(deps, user);
    const [listed] = await listPasskeys(deps.db, user.id);
    expect(Object.keys(listed ?? {}).sort()).toEqual([
      "backedUp",
      "createdAt",
      "deviceType",
      "id",
      "lastUsedAt",
      "name",
    ]);
  });

  it.each([
    ["a wrong origin", { origin: "https://api.test.evil.example" }, "origin"],
    ["a wrong RP ID", { rpId: "evil.example" }, "rp_id"],
    ["no user verification", { userVerified: false }, "user_verification"],
    ["no user presence", { userPresent: false }, "user_presence"],
    ["a login ceremony type", { type: "webauthn.get" }, "type"],
  ])("refuses a registration with %s, and its challenge is spent", async (_, knobs, reason) => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const options = await registrationOptions(deps, user, CALLER);
    const response = await authenticator.register(options, knobs);
    expect(await verifyRegistration(deps, user.id, CALLER, response)).toEqual({ ok: false, reason });
    expect(await listPasskeys(deps.db, user.id)).toEqual([]);
    // The refused attempt spent the challenge: the honest response to the same options is refused too.
    const honest = await authenticator.register(options);
    expect(await verifyRegistration(deps, user.id, CALLER, honest)).toEqual({ ok: false, reason: "challenge" });
  });

  it("refuses a registration signing a challenge it was not given, which spends nothing", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const options = await registrationOptions(deps, user, CALLER);
    const forged = await authenticator.register(options, { challenge: base64url.encode(new Uint8Array(32)) });
    expect(await verifyRegistration(deps, user.id, CALLER, forged)).toEqual({ ok: false, reason: "challenge" });
    expect(await verifyRegistration(deps, user.id, CALLER, await authenticator.register(options))).toMatchObject({
      ok: true,
    });
  });

  it("spends the challenge: a replayed registration is refused, and so are parallel copies but one", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const response = await authenticator.register(await registrationOptions(deps, user, CALLER));
    const results = await Promise.all(
      Array.from({ length: 5 }, () => verifyRegistration(deps, user.id, CALLER, response)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual(Array(4).fill({ ok: false, reason: "challenge" }));
    expect(await verifyRegistration(deps, user.id, CALLER, response)).toEqual({ ok: false, reason: "challenge" });
  });

  it("refuses another account's challenge and a credential already registered to someone else", async () => {
    const { deps } = passkeyDeps();
    const [alice, mallory] = await Promise.all([registerUser(), registerUser()]);
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const forAlice = await authenticator.register(await registrationOptions(deps, alice, CALLER));
    expect(await verifyRegistration(deps, mallory.id, CALLER, forAlice)).toEqual({ ok: false, reason: "challenge" });
    expect(await verifyRegistration(deps, alice.id, CALLER, forAlice)).toMatchObject({ ok: true });
    // Mallory replays Alice's credential id (and key) under her own fresh challenge.
    const again = await authenticator.register(await registrationOptions(deps, mallory, CALLER));
    expect(await verifyRegistration(deps, mallory.id, CALLER, again)).toEqual({
      ok: false,
      reason: "credential_exists",
    });
    expect(await listPasskeys(deps.db, mallory.id)).toEqual([]);
  });

  it("refuses an expired challenge (5 minutes)", async () => {
    const { deps, advance } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const response = await authenticator.register(await registrationOptions(deps, user, CALLER));
    advance(5 * 60_000 + 1);
    expect(await verifyRegistration(deps, user.id, CALLER, response)).toEqual({ ok: false, reason: "challenge" });
  });

  it("refuses malformed responses without throwing", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const authenticator = await SoftwareAuthenticator.create(ORIGIN);
    const response = await authenticator.register(await registrationOptions(deps, user, CALLER));
    const broken = { ...response, response: { ...response.response, attestationObject: "AAAA" } };
    expect(await verifyRegistration(deps, user.id, CALLER, broken)).toEqual({ ok: false, reason: "malformed" });
    expect(await verifyRegistration(deps, user.id, CALLER, response)).toEqual({ ok: false, reason: "challenge" }); // spent
    const otherId = {
      ...response,
      id: base64url.encode(new Uint8Array(32)),
      rawId: base64url.encode(new Uint8Array(32)),
    };
    const fresh = await authenticator.register(await registrationOptions(deps, user, CALLER));
    expect(await verifyRegistration(deps, user.id, CALLER, { ...otherId, response: fresh.response })).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(registrationResponseSchema.safeParse({ ...response, id: "not base64url!" }).success).toBe(false);
  });
});

describe("passkey login", () => {
  it("with an email lists the account's passkeys; without one, none (discoverable credentials)", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const withEmail = await loginOptions(deps, user.email);
    expect(withEmail.options).toMatchObject({ rpId: "api.test", userVerification: "required", timeout: 300_000 });
    expect(withEmail.options.allowCredentials).toEqual([{ id: authenticator.id, type: "public-key" }]);
    const discoverable = await signedLogin(deps, authenticator);
    expect(discoverable.options.allowCredentials).toEqual([]);
    expect(discoverable.response.response.userHandle).toBeDefined();
    expect(await verifyPasskeyLogin(deps, discoverable.challengeId, discoverable.response)).toMatchObject({
      ok: true,
      userId: user.id,
    });
  });

  it("answers an unknown email, and an account without passkeys, in the same shape, the same every time", async () => {
    const { deps } = passkeyDeps();
    const withoutPasskeys = await registerUser();
    const unknown = `${unique("nobody_")}@example.com`;
    const a = await loginOptions(deps, unknown);
    const b = await loginOptions(deps, unknown);
    const c = await loginOptions(deps, withoutPasskeys.email);
    for (const o of [a, b, c]) {
      expect(o.options.allowCredentials.length).toBeGreaterThanOrEqual(1);
      expect(o.options.allowCredentials.length).toBeLessThanOrEqual(3);
      for (const credential of o.options.allowCredentials) {
        expect(credential).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), type: "public-key" });
      }
      expect(Object.keys(o.options).sort()).toEqual([
        "allowCredentials",
        "challenge",
        "rpId",
        "timeout",
        "userVerification",
      ]);
    }
    expect(a.options.allowCredentials).toEqual(b.options.allowCredentials);
    expect(a.options.allowCredentials).not.toEqual(c.options.allowCredentials);
    expect(a.challengeId).not.toBe(b.challengeId);
  });

  it("gives unknown emails one to three stand-in ids, so a list of two does not reveal an account", async () => {
    // A fixed key and fixed addresses, so the counts are the same on every run (random ones would
    // miss a count of three in 40 tries about once in thirty runs).
    const deps = { ...passkeyDeps().deps, decoyKey: "a-fixed-test-key" };
    const counts = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const { options } = await loginOptions(deps, `nobody-decoy-count-${i}@example.test`);
      counts.add(options.allowCredentials.length);
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
  });

  it.each([
    ["a wrong origin", { origin: "https://evil.example" }, "origin"],
    ["a wrong RP ID", { rpId: "evil.example" }, "rp_id"],
    ["no user verification", { userVerified: false }, "user_verification"],
    ["no user presence", { userPresent: false }, "user_presence"],
    ["a registration ceremony type", { type: "webauthn.create" }, "type"],
    ["another challenge", { challenge: base64url.encode(new Uint8Array(32)) }, "challenge"],
  ])("refuses an assertion with %s, and its challenge is spent", async (_, knobs, reason) => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const { challengeId, options, response } = await signedLogin(deps, authenticator, user.email, knobs);
    expect(await verifyPasskeyLogin(deps, challengeId, response)).toEqual({
      ok: false,
      reason,
      userId: user.id,
      passkeyId: authenticator.id,
    });
    const honest = await authenticator.assert(options);
    expect(await verifyPasskeyLogin(deps, challengeId, honest)).toEqual({ ok: false, reason: "challenge" });
  });

  it("refuses a forged signature", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const { challengeId, response } = await signedLogin(deps, authenticator, user.email);
    const signature = base64url.decode(response.response.signature);
    signature.set([(signature.at(-1) ?? 0) ^ 1], signature.length - 1);
    const forged = { ...response, response: { ...response.response, signature: base64url.encode(signature) } };
    expect(await verifyPasskeyLogin(deps, challengeId, forged)).toMatchObject({ ok: false, reason: "signature" });
    // Another key claiming the same credential id.
    const impostor = await SoftwareAuthenticator.create(ORIGIN);
    const second = await loginOptions(deps, user.email);
    const signed = await impostor.assert(second.options);
    const claimed = { ...signed, id: authenticator.id, rawId: authenticator.id };
    expect(await verifyPasskeyLogin(deps, second.challengeId, claimed)).toMatchObject({
      ok: false,
      reason: "signature",
    });
  });

  it("uses a challenge once: replays and parallel copies get nothing", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const { challengeId, response } = await signedLogin(deps, authenticator, user.email);
    const results = await Promise.all(Array.from({ length: 6 }, () => verifyPasskeyLogin(deps, challengeId, response)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual(Array(5).fill({ ok: false, reason: "challenge" }));
    expect(await verifyPasskeyLogin(deps, challengeId, response)).toEqual({ ok: false, reason: "challenge" });
    // The same signed response under another live challenge id is not accepted either.
    const other = await loginOptions(deps, user.email);
    expect(await verifyPasskeyLogin(deps, other.challengeId, response)).toMatchObject({
      ok: false,
      reason: "challenge",
    });
  });

  it("refuses an expired challenge (5 minutes) and one issued for registration", async () => {
    const { deps, advance } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const { challengeId, response } = await signedLogin(deps, authenticator, user.email);
    advance(5 * 60_000 + 1);
    expect(await verifyPasskeyLogin(deps, challengeId, response)).toEqual({ ok: false, reason: "challenge" });
    await registrationOptions(deps, user, CALLER);
    const [registration] = await rows(
      "select id, challenge from webauthn_challenges where user_id = ? and purpose = 'register'",
      user.id,
    );
    const signed = await authenticator.assert({ challenge: String(registration?.challenge) });
    expect(await verifyPasskeyLogin(deps, String(registration?.id), signed)).toEqual({
      ok: false,
      reason: "challenge",
    });
  });

  it("refuses a counter that goes backwards (a cloned authenticator) and keeps the stored one", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const first = await signedLogin(deps, authenticator, user.email, { counter: 7 });
    expect(await verifyPasskeyLogin(deps, first.challengeId, first.response)).toMatchObject({ ok: true });
    for (const counter of [7, 3, 0]) {
      const clone = await signedLogin(deps, authenticator, user.email, { counter });
      expect(await verifyPasskeyLogin(deps, clone.challengeId, clone.response)).toEqual({
        ok: false,
        reason: "counter_regression",
        userId: user.id,
        passkeyId: authenticator.id,
      });
    }
    expect(await rows("select counter from passkey_credentials where id = ?", authenticator.id)).toEqual([
      { counter: 7 },
    ]);
    const next = await signedLogin(deps, authenticator, user.email, { counter: 8 });
    expect(await verifyPasskeyLogin(deps, next.challengeId, next.response)).toMatchObject({ ok: true });
  });

  it("accepts an authenticator that keeps no counter (always 0)", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    for (let i = 0; i < 2; i++) {
      const login = await signedLogin(deps, authenticator, user.email, { counter: 0 });
      expect(await verifyPasskeyLogin(deps, login.challengeId, login.response)).toMatchObject({ ok: true });
    }
  });

  it("refuses another user's credential for an email, and a user handle that is not the credential's", async () => {
    const { deps } = passkeyDeps();
    const [alice, bob] = await Promise.all([registerUser(), registerUser()]);
    const [{ authenticator: alicesKey }, { authenticator: bobsKey }] = await Promise.all([
      withPasskey(deps, alice),
      withPasskey(deps, bob),
    ]);
    // Bob signs a challenge issued for Alice's email with his own passkey.
    const asAlice = await signedLogin(deps, bobsKey, alice.email);
    expect(await verifyPasskeyLogin(deps, asAlice.challengeId, asAlice.response)).toEqual({
      ok: false,
      reason: "wrong_user",
      userId: bob.id,
      passkeyId: bobsKey.id,
    });
    // Bob's assertion relabelled with Alice's user handle.
    const relabelled = await signedLogin(deps, bobsKey);
    relabelled.response.response.userHandle = alicesKey.userHandle;
    expect(await verifyPasskeyLogin(deps, relabelled.challengeId, relabelled.response)).toMatchObject({
      ok: false,
      reason: "wrong_user",
    });
  });

  it("refuses an unknown credential and malformed assertions without throwing", async () => {
    const { deps } = passkeyDeps();
    const stranger = await SoftwareAuthenticator.create(ORIGIN);
    const login = await signedLogin(deps, stranger);
    expect(await verifyPasskeyLogin(deps, login.challengeId, login.response)).toEqual({
      ok: false,
      reason: "unknown_credential",
    });
    const user = await registerUser();
    const { authenticator } = await withPasskey(deps, user);
    const broken = await signedLogin(deps, authenticator, user.email);
    broken.response.response.authenticatorData = "AAAA";
    expect(await verifyPasskeyLogin(deps, broken.challengeId, broken.response)).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(await verifyPasskeyLogin(deps, "no-such-challenge", broken.response)).toEqual({
      ok: false,
      reason: "challenge",
    });
  });
});

describe("managing passkeys", () => {
  it("renames and removes only the account's own passkeys", async () => {
    const { deps } = passkeyDeps();
    const [alice, mallory] = await Promise.all([registerUser(), registerUser()]);
    const { passkey } = await withPasskey(deps, alice);
    expect(await renamePasskey(deps.db, mallory.id, passkey.id, "mine")).toBeNull();
    expect(await removePasskey(deps.db, mallory.id, passkey.id)).toEqual({ ok: false, reason: "not_found" });
    expect(await renamePasskey(deps.db, alice.id, passkey.id, " Laptop ")).toMatchObject({
      id: passkey.id,
      name: "Laptop",
    });
    expect(await removePasskey(deps.db, alice.id, passkey.id)).toMatchObject({ ok: true, passkey: { id: passkey.id } });
    expect(await listPasskeys(deps.db, alice.id)).toEqual([]);
  });

  it("refuses to remove the last way in of an account without a password", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { passkey } = await withPasskey(deps, user);
    await removePassword(user.id);
    expect(await removePasskey(deps.db, user.id, passkey.id)).toEqual({ ok: false, reason: "last_sign_in_method" });
    expect(await listPasskeys(deps.db, user.id)).toHaveLength(1);
  });

  it("lets the last passkey go when a linked social identity remains a way in", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const { passkey } = await withPasskey(deps, user);
    await removePassword(user.id);
    await env.DB.prepare("insert into oauth_identities (id, user_id, provider, subject) values (?, ?, 'acme', ?)")
      .bind(crypto.randomUUID(), user.id, unique("sub_"))
      .run();
    expect(await removePasskey(deps.db, user.id, passkey.id)).toMatchObject({ ok: true, passkey: { id: passkey.id } });
  });

  it("lets exactly one of two parallel removals of the last two passkeys through", async () => {
    const { deps } = passkeyDeps();
    const user = await registerUser();
    const [a, b] = [await withPasskey(deps, user), await withPasskey(deps, user)];
    await removePassword(user.id);
    const results = await Promise.all([
      removePasskey(deps.db, user.id, a.passkey.id),
      removePasskey(deps.db, user.id, b.passkey.id),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: "last_sign_in_method" }]);
    expect(await listPasskeys(deps.db, user.id)).toHaveLength(1);
  });
});

describe("parsing what the browser sends (hostile bytes)", () => {
  it("refuses truncated authenticatorData and bytes no flag announced", () => {
    const minimal = new Uint8Array(37);
    minimal[32] = 0x05;
    expect(parseAuthenticatorData(minimal)).toMatchObject({ userPresent: true, userVerified: true, signCount: 0 });
    expect(parseAuthenticatorData(minimal.subarray(0, 36))).toBeNull();
    expect(parseAuthenticatorData(new Uint8Array([...minimal, 0]))).toBeNull();
    const attested = new Uint8Array(60);
    attested[32] = 0x45;
    attested[54] = 200; // credential id longer than what follows
    expect(parseAuthenticatorData(attested)).toBeNull();
  });

  it("reads the CBOR WebAuthn uses and refuses the rest", () => {
    const map = new Map<number | string, Cbor>([
      [1, 2],
      [-1, 1],
      [-300, new Uint8Array([9])],
      ["fmt", "none"],
      [70000, new Map()],
    ]);
    expect(decodeCborExactly(encodeCbor(map))).toEqual({
      "1": 2,
      "-1": 1,
      "-300": new Uint8Array([9]),
      fmt: "none",
      "70000": {},
    });
    expect(decodeCbor(new Uint8Array([0x83, 0xf4, 0xf5, 0xf6, 0xff]))).toEqual([[false, true, null], 4]);
    const refused = [
      [0x5f, 0x41, 0x00, 0xff], // indefinite-length byte string
      [0xc2, 0x41, 0x01], // tag
      [0xfa, 0, 0, 0, 0], // float
      [0x1b, 0, 0, 0, 0, 0, 0, 0, 1], // 64-bit integer
      [0xa2, 0x01, 0x01, 0x01, 0x02], // duplicate key
      [0xa1, 0x41, 0x00, 0x01], // byte-string key
      [0x42, 0x00], // truncated
      [0x81, 0x81, 0x81, 0x81, 0x81, 0x00], // deeper than 4
      [0x62, 0xc3, 0x28], // invalid UTF-8
    ];
    for (const bytes of refused) expect(() => decodeCborExactly(new Uint8Array(bytes)), String(bytes)).toThrow();
    expect(() => decodeCborExactly(new Uint8Array([0x01, 0x01]))).toThrow(/left over/);
  });

  it("reads only strict DER ECDSA signatures", () => {
    const der = (r: number[], s: number[]) =>
      new Uint8Array([0x30, r.length + s.length + 4, 2, r.length, ...r, 2, s.length, ...s]);
    const ok = derToP1363(der([1], [0x00, 0x80]));
    expect(ok?.[31]).toBe(1);
    expect(ok?.[63]).toBe(0x80);
    expect(derToP1363(der([1], [2]).subarray(0, 7))).toBeNull();
    expect(derToP1363(new Uint8Array([...der([1], [2]), 0]))).toBeNull();
    expect(derToP1363(der(Array(34).fill(1), [2]))).toBeNull();
    expect(derToP1363(der([1, ...Array(32).fill(1)], [2]))).toBeNull(); // 33 bytes without the sign pad
  });
});
