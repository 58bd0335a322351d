// A minimal SPA client of the API, served from its own origin. The API's base URL
// comes from `?api=`. Tokens live in memory only, as a careful SPA keeps them.
// After each action `document.body.dataset.step` is "<action>:<HTTP status>", or
// "<action>:network-error" when fetch itself threw (which is what a CORS refusal looks like).

const api = new URLSearchParams(location.search).get("api") ?? "";
const tokens = { access: "", refresh: "" };
/** The password step's mfaToken of an account with MFA, until the code step uses it. */
let mfaToken = "";
const $ = (id) => document.getElementById(id);
const value = (id) => $(id).value;

$("api").textContent = api;
$("origin").textContent = location.origin;

async function call(action, method, path, body, auth = false) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && tokens.access) headers.Authorization = `Bearer ${tokens.access}`;
  document.body.dataset.step = `${action}:pending`;
  try {
    const res = await fetch(api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    $("status").textContent = `${action}: ${res.status} ${json.message}`;
    $("result").textContent = JSON.stringify(json, null, 2);
    document.body.dataset.step = `${action}:${res.status}`;
    return json;
  } catch (err) {
    $("status").textContent = `${action}: network error (${err})`;
    $("result").textContent = "";
    document.body.dataset.step = `${action}:network-error`;
    return undefined;
  }
}

const keepTokens = (json) => {
  if (!json?.data?.accessToken) return;
  tokens.access = json.data.accessToken;
  tokens.refresh = json.data.refreshToken;
  $("who").textContent = json.data.user.username;
};

const account = () => ({ username: value("username"), email: value("email"), password: value("password") });

$("register").addEventListener("click", () => call("register", "POST", "/register", account()));
$("login").addEventListener("click", async () => {
  const { email, password } = account();
  const json = await call("login", "POST", "/login", { email, password });
  mfaToken = json?.data?.mfaRequired ? json.data.mfaToken : "";
  keepTokens(json);
});
// Enrolment: the password is the step-up proof; the secret goes into the authenticator app.
$("mfa-start").addEventListener("click", async () => {
  const json = await call("mfa-start", "POST", "/me/mfa/totp", { currentPassword: value("password") }, true);
  $("mfa-secret").textContent = json?.data?.secret ?? "";
});
$("mfa-confirm").addEventListener("click", () =>
  call("mfa-confirm", "POST", "/me/mfa/totp/confirm", { code: value("mfa-code") }, true),
);
$("login-mfa").addEventListener("click", async () =>
  keepTokens(await call("login-mfa", "POST", "/login/mfa", { mfaToken, code: value("mfa-code") })),
);
// Passwordless: the code goes to the Email field's address; a TOTP account still asks for its code after it.
$("email-code").addEventListener("click", () =>
  call("email-code", "POST", "/login/email-code", { email: value("email") }),
);
$("email-code-verify").addEventListener("click", async () => {
  const body = { email: value("email"), code: value("email-code-value") };
  const json = await call("email-code-verify", "POST", "/login/email-code/verify", body);
  mfaToken = json?.data?.mfaRequired ? json.data.mfaToken : "";
  keepTokens(json);
});
$("forgot").addEventListener("click", () => call("forgot", "POST", "/forgot-password", { email: value("email") }));
$("me").addEventListener("click", async () => {
  const json = await call("me", "GET", "/me", undefined, true);
  if (json?.data?.user) $("who").textContent = `${json.data.user.username} (verified: ${json.data.user.emailVerified})`;
});
$("refresh").addEventListener("click", async () =>
  keepTokens(await call("refresh", "POST", "/refresh", { refreshToken: tokens.refresh })),
);
// The access token stays in memory after logout so the test can show the server now refuses it.
$("logout").addEventListener("click", async () => {
  const json = await call("logout", "POST", "/logout", {}, true);
  if (json?.status === "success") $("who").textContent = "nobody";
});
// An emailed verification link is confirmed with this tab's session (N1): a real SPA reads the token
// from its /verify-email?token= route; here it is pasted.
$("verify-email").addEventListener("click", () =>
  call("verify-email", "POST", "/verify-email", { token: value("verify-token") }, true),
);
$("create-post").addEventListener("click", () =>
  call("create-post", "POST", "/posts", { title: value("title"), content: value("content") }, true),
);

// Passkeys and PKCE: the API speaks base64url; the browser wants bytes.
const fromB64url = (s) => Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
const toB64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const withIds = (list = []) => list.map((c) => ({ ...c, id: fromB64url(c.id) }));

// Social sign-in: a button per provider of GET /oauth/providers. The SPA makes its own PKCE pair
// (the verifier stays in this tab's sessionStorage), goes to /oauth/:provider/authorize, and comes
// back here with ?code=, a one-time login code it redeems with the verifier at POST /oauth/token.
const VERIFIER_KEY = "oauth-verifier";

async function socialSignIn(provider) {
  const verifier = toB64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const back = `${location.origin}/?api=${encodeURIComponent(api)}`;
  const query = new URLSearchParams({
    redirect_uri: back,
    code_challenge: toB64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  location.assign(`${api}/oauth/${encodeURIComponent(provider)}/authorize?${query}`);
}

async function listProviders() {
  try {
    const json = await (await fetch(`${api}/oauth/providers`)).json();
    const list = $("providers");
    if (!json.data?.length) return;
    list.textContent = "";
    for (const provider of json.data) {
      const button = document.createElement("button");
      button.type = "button";
      button.id = `oauth-${provider.id}`;
      button.textContent = `Sign in with ${provider.name}`;
      button.addEventListener("click", () => socialSignIn(provider.id));
      list.append(button);
    }
  } catch {
    // No providers (or no API): the section stays as it is.
  }
}

/** Back from the provider: the code leaves the address bar at once, then is redeemed with this tab's verifier. */
async function finishSocialSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return;
  params.delete("code");
  params.delete("error");
  history.replaceState(null, "", `${location.pathname}?${params}`);
  if (error) {
    $("status").textContent = `social sign-in: ${error}`;
    document.body.dataset.step = `oauth-token:${error}`;
    return;
  }
  const codeVerifier = sessionStorage.getItem(VERIFIER_KEY) ?? "";
  sessionStorage.removeItem(VERIFIER_KEY);
  keepTokens(await call("oauth-token", "POST", "/oauth/token", { code, codeVerifier }));
}

listProviders();
finishSocialSignIn();

// Passkeys: the API speaks the JSON form of WebAuthn (base64url strings).
/** Runs a browser ceremony; a refusal (no authenticator, user cancelled) ends the action as "<action>:error". */
async function ceremony(action, run) {
  try {
    return await run();
  } catch (err) {
    $("status").textContent = `${action}: ${err.name} ${err.message}`;
    document.body.dataset.step = `${action}:error`;
    return undefined;
  }
}

// Registration: the password is the step-up proof for the options, then create() and the answer.
$("passkey-register").addEventListener("click", async () => {
  const json = await call(
    "passkey-options",
    "POST",
    "/me/passkeys/options",
    { currentPassword: value("password") },
    true,
  );
  const options = json?.data?.options;
  if (!options) return;
  const credential = await ceremony("passkey-register", () =>
    navigator.credentials.create({
      publicKey: {
        ...options,
        challenge: fromB64url(options.challenge),
        user: { ...options.user, id: fromB64url(options.user.id) },
        excludeCredentials: withIds(options.excludeCredentials),
      },
    }),
  );
  if (!credential) return;
  const response = {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toB64url(credential.response.clientDataJSON),
      attestationObject: toB64url(credential.response.attestationObject),
      transports: credential.response.getTransports?.() ?? [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  await call("passkey-register", "POST", "/me/passkeys", { response, name: "E2E browser" }, true);
});

// Sign-in: with the email typed (allowCredentials) or without (discoverable), get(), then the login.
$("passkey-login").addEventListener("click", async () => {
  const email = value("email");
  const json = await call("passkey-login-options", "POST", "/passkeys/login/options", email ? { email } : {});
  if (!json?.data) return;
  const { options, challengeId } = json.data;
  const credential = await ceremony("passkey-login", () =>
    navigator.credentials.get({
      publicKey: {
        ...options,
        challenge: fromB64url(options.challenge),
        allowCredentials: withIds(options.allowCredentials),
      },
    }),
  );
  if (!credential) return;
  const response = {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toB64url(credential.response.clientDataJSON),
      authenticatorData: toB64url(credential.response.authenticatorData),
      signature: toB64url(credential.response.signature),
      ...(credential.response.userHandle ? { userHandle: toB64url(credential.response.userHandle) } : {}),
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  keepTokens(await call("passkey-login", "POST", "/passkeys/login", { challengeId, response }));
});
