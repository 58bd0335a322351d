import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, registerAndLogin, type Session, STRONG_PASSWORD, unique } from "../support/api";
import { detailPaths, expectFailure } from "../support/expect-failure";
import { emailsTo, tokenFrom, waitForEmail } from "../support/mailbox";
import { settled } from "../support/settled";

/*
 * Header injection through email addresses: an address carrying a line break
 * and a `Bcc:` (or a second address) could add recipients if it ever reached
 * a mail header. Every field that takes an email refuses such values with
 * 400, and the capture endpoint (the Worker's real mail API in tests) receives
 * nothing for the injected address. Requests go through `settled`, so mail
 * the Worker would send after the response has been sent before we look.
 */

/** Ways to smuggle `attacker` in next to `victim`. */
const injections = (victim: string, attacker: string) => [
  `${victim}\r\nBcc: ${attacker}`,
  `${victim}\nBcc: ${attacker}`,
  `${victim}\rCc:${attacker}`,
  `${victim}\r\n\r\n<html>${attacker}`,
  `${victim}%0d%0aBcc:${attacker}`,
  `${victim}%0ABcc:${attacker}`,
  `${victim}\u2028Bcc: ${attacker}`,
  `${victim}\u0085Bcc: ${attacker}`,
  `${victim}\u0000${attacker}`,
  `${victim}\tBcc: ${attacker}`,
  `${victim}, ${attacker}`,
  `${victim};${attacker}`,
  `${victim} ${attacker}`,
  `"${attacker}" <${victim}>`,
  `Victim <${victim}>, ${attacker}`,
  `${attacker}>\r\nTo: <${victim}`,
];

const mailboxes = () => {
  const tag = unique("inj");
  return { victim: `${tag}.victim@example.com`, attacker: `${tag}@evil.test` };
};

/** Sends every injection through `send` and expects each refused, naming email. */
async function expectAllRefused(victim: string, attacker: string, send: (email: string) => Promise<ApiResponse>) {
  for (const email of injections(victim, attacker)) {
    const res = await send(email);
    expectFailure(res, 400, "VALIDATION_ERROR");
    expect(detailPaths(res), JSON.stringify(email)).toEqual(["email"]);
  }
  expect(await emailsTo(attacker)).toEqual([]);
}

describe("email fields refuse header injection and mail nobody", () => {
  it("POST /register", async () => {
    const { victim, attacker } = mailboxes();
    await expectAllRefused(victim, attacker, (email) =>
      settled("POST", "/register", { body: { username: unique("inj_"), email, password: STRONG_PASSWORD } }),
    );
    expect(await emailsTo(victim)).toEqual([]);
  });

  it("POST /forgot-password, for an address that has an account", async () => {
    const s = await registerAndLogin();
    await waitForEmail(s.user.email); // the verification email from registration
    const { attacker } = mailboxes();
    await expectAllRefused(s.user.email, attacker, (email) => settled("POST", "/forgot-password", { body: { email } }));
    expect(await emailsTo(s.user.email)).toHaveLength(1);
  });

  describe("changing the address of an account", () => {
    let s: Session;
    beforeAll(async () => {
      s = await registerAndLogin();
      await waitForEmail(s.user.email);
    });
    const as = () => ({ token: s.accessToken });

    it.each([
      ["PATCH /me", (email: string) => settled("PATCH", "/me", { ...as(), body: { email } })],
      [
        "PUT /user/:id",
        (email: string) =>
          settled("PUT", `/user/${s.user.id}`, { ...as(), body: { username: s.user.username, email } }),
      ],
      ["PATCH /user/:id", (email: string) => settled("PATCH", `/user/${s.user.id}`, { ...as(), body: { email } })],
    ])("%s", async (_, send) => {
      const { victim, attacker } = mailboxes();
      await expectAllRefused(victim, attacker, send);
      expect(await emailsTo(victim)).toEqual([]);
      const row = await env.DB.prepare("select email from users where id = ?").bind(s.user.id).first("email");
      expect(row).toBe(s.user.email);
    });
  });

  it("trims surrounding line breaks rather than sending them on: the one address gets the one email", async () => {
    const { victim } = mailboxes();
    const res = await settled("POST", "/register", {
      body: { username: unique("inj_"), email: `\r\n ${victim.toUpperCase()}\r\n`, password: STRONG_PASSWORD },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.user.email).toBe(victim);
    const sent = await emailsTo(victim);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toEqual([victim]);
  });
});

describe("what the server puts in a message is its own", () => {
  it("from, subject and recipient are fixed; the link points at this API whatever host headers claim", async () => {
    const s = await registerAndLogin();
    const verification = await waitForEmail(s.user.email);
    const forged = {
      "X-Forwarded-Host": "evil.test",
      Forwarded: "host=evil.test;proto=http",
      "X-Original-URL": "https://evil.test/",
      "X-Forwarded-Proto": "http",
    };
    const res = await settled("POST", "/forgot-password", { body: { email: s.user.email }, headers: forged });
    expect(res.status).toBe(200);
    const reset = await waitForEmail(s.user.email, 2);

    for (const [message, subject] of [
      [verification, "Confirm your email address"],
      [reset, "Reset your password"],
    ] as const) {
      expect(message.from).toBe(env.MAIL_FROM);
      expect(message.subject).toBe(subject);
      expect(message.to).toEqual([s.user.email]);
      expect(message.text).not.toContain("evil.test");
      expect(message.html).not.toContain("evil.test");
    }
    expect(reset.text).toContain(`https://api.test/reset-password?token=${tokenFrom(reset)}`);
  });
});
