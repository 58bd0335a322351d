import { describe, expect, it } from "vitest";
import { api, registerAndLogin } from "./support/api";

describe("smoke", () => {
  it("health", async () => {
    const res = await api("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ status: "ok", db: "ok" });
  });
  it("register, login, me", async () => {
    const s = await registerAndLogin();
    const me = await api("GET", "/me", { token: s.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.data.user.email).toBe(s.user.email);
  });
});
