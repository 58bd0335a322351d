import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { auditInsertWhere } from "../src/audit/audit";
import { passwordStillHolds } from "../src/auth/password-proof";
import { revokeAllSessions } from "../src/auth/sessions";
import {
  type AfterWrite,
  confirmTotpEnrolment,
  pendingEnrolmentQuery,
  regenerateRecoveryCodes,
  startTotpEnrolment,
} from "../src/auth/totp/enrolment";
import { api, registerVerifiedAndLogin, setRole } from "./support/api";
import { enrolledUser, mfaDeps } from "./support/mfa";
import { codeNow, enrolled } from "./support/mfa-api";
import { base32Decode, totpCode } from "./support/totp";

/**
 * The MFA writes send what follows a decision in the decision's own batch
 * (one round trip instead of two or three). Each statement that must happen
 * only when the write landed carries `applied`; these tests make the write
 * miss on purpose, as a race between the read and the write would, and
 * check that nothing else of the batch landed.
 */
const audits = async (action: string, targetId: string) =>
  (
    await env.DB.prepare("select count(*) as n from audit_events where action = ? and target_id = ?")
      .bind(action, targetId)
      .first<{ n: number }>()
  )?.n ?? 0;

const liveSessions = async (userId: string) =>
  (
    await env.DB.prepare("select count(*) as n from sessions where user_id = ? and revoked_at is null")
      .bind(userId)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("MFA writes batched with what follows them", () => {
  it("a confirm whose pending secret was replaced after it was read audits nothing and revokes no session", async () => {
    const { deps } = mfaDeps();
    const { user } = await registerVerifiedAndLogin();
    const after: AfterWrite = (applied) => [
      auditInsertWhere(deps.db, { action: "mfa_enable", actorId: user.id, targetId: user.id }, applied),
      revokeAllSessions(deps.db, user.id, undefined, applied),
    ];
    const first = await startTotpEnrolment(deps, user);
    if (!first.ok) throw new Error("enrolment did not start");
    const stale = await pendingEnrolmentQuery(deps.db, user.id);
    // A restart lands between the confirm's read and its write.
    const second = await startTotpEnrolment(deps, user);
    if (!second.ok) throw new Error("enrolment did not restart");
    const lost = await confirmTotpEnrolment(deps, user.id, totpCode(base32Decode(first.secret), deps.now()), {
      loaded: stale,
      after,
    });
    expect(lost).toEqual({ ok: false, reason: "no_pending_enrolment" });
    expect(await audits("mfa_enable", user.id)).toBe(0);
    expect(await liveSessions(user.id)).toBe(1);

    // The same batch with the secret really pending: everything lands.
    const pending = await pendingEnrolmentQuery(deps.db, user.id);
    const won = await confirmTotpEnrolment(deps, user.id, totpCode(base32Decode(second.secret), deps.now()), {
      loaded: pending,
      after,
    });
    expect(won.ok).toBe(true);
    expect(await audits("mfa_enable", user.id)).toBe(1);
    expect(await liveSessions(user.id)).toBe(0);
  });

  it("new recovery codes under a stale proof audit nothing; under a live one, once", async () => {
    const { deps } = mfaDeps();
    const { user } = await enrolledUser(deps);
    const hash = (
      await env.DB.prepare("select password_hash as h from users where id = ?").bind(user.id).first<{
        h: string;
      }>()
    )?.h as string;
    const audit: AfterWrite = (applied) => [
      auditInsertWhere(deps.db, { action: "recovery_codes_regenerated", actorId: user.id, targetId: user.id }, applied),
    ];
    // The password changed while the proof was checked: the proof's condition no longer holds.
    const stale = passwordStillHolds(user.id, `${hash}-before-a-change`);
    expect(await regenerateRecoveryCodes(deps, user.id, stale, audit)).toBeNull();
    expect(await audits("recovery_codes_regenerated", user.id)).toBe(0);
    const codes = await regenerateRecoveryCodes(deps, user.id, passwordStillHolds(user.id, hash), audit);
    expect(codes).toHaveLength(10);
    expect(await audits("recovery_codes_regenerated", user.id)).toBe(1);
  });

  it("parallel regenerations with one code: one succeeds and is audited once, the others are refused", async () => {
    const e = await enrolled();
    const body = { currentPassword: e.user.password, code: codeNow(e.secret) };
    const results = await Promise.all(
      [0, 1, 2].map(() => api("POST", "/me/mfa/recovery-codes", { token: e.session.accessToken, body })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    expect(await audits("recovery_codes_regenerated", e.user.id)).toBe(1);
    expect(await audits("mfa_failure", e.user.id)).toBe(2);
  });

  it("a right current password with a refused new one still gives its attempt back: repeats never lock", async () => {
    const s = await registerVerifiedAndLogin();
    const change = (newPassword: string) =>
      api("POST", "/me/password", { token: s.accessToken, body: { currentPassword: s.user.password, newPassword } });
    // More refusals than the session's failure budget (SESSION_FAILURE_LIMIT = 5).
    for (let i = 0; i < 7; i++) expect((await change(s.user.email)).status).toBe(400);
    expect((await change("another-horse-battery-7")).status).toBe(200);
  });

  it("a proof's clearing that rides in the write still runs: repeated right proofs never use up the budget", async () => {
    const s = await registerVerifiedAndLogin();
    const body = { currentPassword: s.user.password };
    // More than SESSION_FAILURE_LIMIT (5): each reserved attempt must have been given back.
    for (let i = 0; i < 7; i++) {
      expect((await api("POST", "/me/mfa/totp", { token: s.accessToken, body })).status).toBe(200);
    }
    for (let i = 0; i < 7; i++) {
      const reauth = await api("POST", "/me/reauthenticate", {
        token: s.accessToken,
        body: { password: body.currentPassword },
      });
      expect(reauth.status).toBe(200);
    }
  });

  it("an admin's MFA reset without reading the target first: no MFA or no user changes nothing", async () => {
    const admin = await registerVerifiedAndLogin();
    await setRole(admin.user.id, "admin");
    const reset = (id: string) => api("DELETE", `/user/${id}/mfa`, { token: admin.accessToken, body: {} });
    const plain = await registerVerifiedAndLogin();
    const noMfa = await reset(plain.user.id);
    expect(noMfa.status).toBe(404);
    expect(noMfa.body.message).toBe("MFA not found");
    expect(await audits("mfa_reset", plain.user.id)).toBe(0);
    expect(await liveSessions(plain.user.id)).toBe(1);
    const unknown = await reset(crypto.randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe("User not found");
    const e = await enrolled();
    expect((await reset(e.user.id)).status).toBe(200);
    expect(await audits("mfa_reset", e.user.id)).toBe(1);
    expect(await liveSessions(e.user.id)).toBe(0);
    // Again: MFA is off now, nothing more is audited.
    expect((await reset(e.user.id)).status).toBe(404);
    expect(await audits("mfa_reset", e.user.id)).toBe(1);
  });
});
