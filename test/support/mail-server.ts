import { createServer, type IncomingMessage, type Server } from "node:http";
import type { CapturedEmail } from "./email-types";

/**
 * A Resend-compatible capture endpoint: `POST /emails` stores the message and
 * answers like Resend; `GET /messages?to=ADDRESS` lists what was sent to an
 * address. Recipients steer failure tests: an address containing
 * "mail-fails" gets a 500, one containing "mail-hangs" never gets an answer.
 *
 * Used by the test suite (started by global setup), and by `npm run dev`
 * style manual runs: `node --experimental-strip-types test/support/mail-server.ts`.
 */

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });

export function startMailServer(port = 0): Promise<{ server: Server; url: string }> {
  const messages: CapturedEmail[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "POST" && url.pathname === "/emails") {
      const email = JSON.parse(await readBody(req)) as Omit<CapturedEmail, "authorization" | "receivedAt">;
      const to = email.to.join(",");
      if (to.includes("mail-hangs")) return; // never answers: the Worker must not wait for us
      messages.push({
        ...email,
        authorization: req.headers.authorization ?? null,
        receivedAt: new Date().toISOString(),
      });
      if (to.includes("mail-fails"))
        return send(500, { name: "internal_server_error", message: "capture told to fail" });
      return send(200, { id: crypto.randomUUID() });
    }
    if (req.method === "GET" && url.pathname === "/messages") {
      const to = url.searchParams.get("to")?.toLowerCase();
      return send(
        200,
        messages.filter((m) => !to || m.to.some((t) => t.toLowerCase() === to)),
      );
    }
    send(404, { message: "not found" });
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const actualPort = typeof address === "object" && address ? address.port : port;
      resolve({ server, url: `http://127.0.0.1:${actualPort}` });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await startMailServer(Number(process.env.PORT ?? 8788));
  console.log(`mail capture listening on ${url}`);
}
