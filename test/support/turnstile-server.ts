import { createServer, type Server } from "node:http";
import { readBody } from "./mail-server";
import { TEST_TURNSTILE_SECRET } from "./turnstile-secret";

/**
 * A stand-in for Cloudflare Turnstile's siteverify endpoint, so tests never
 * reach the internet. It answers like the real one: `success: true` only for
 * a token starting with "valid-" sent with the secret `TEST_TURNSTILE_SECRET`,
 * and each token only once. `GET /received` lists the form fields it got.
 */
export function startTurnstileServer(): Promise<{ server: Server; url: string }> {
  const received: Record<string, string>[] = [];
  const spent = new Set<string>();
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "POST" && req.url === "/siteverify") {
      const form = await new Response(await readBody(req), {
        headers: { "content-type": req.headers["content-type"] ?? "" },
      }).formData();
      const fields: Record<string, string> = {};
      form.forEach((value, key) => {
        fields[key] = String(value);
      });
      received.push(fields);
      const token = fields.response ?? "";
      const success = fields.secret === TEST_TURNSTILE_SECRET && token.startsWith("valid-") && !spent.has(token);
      spent.add(token);
      return send(200, success ? { success } : { success, "error-codes": ["invalid-input-response"] });
    }
    if (req.method === "GET" && req.url === "/received") return send(200, received);
    send(404, {});
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}
