import type { Operation } from "../operation";

const tag = "Operations";

export const docsOperations: Operation[] = [
  {
    method: "get",
    path: "/",
    tag,
    summary: "Index page",
    auth: "none",
    success: { html: "A small page naming the API (APP_NAME) with links to /docs, /openapi.json and /health." },
  },
  {
    method: "get",
    path: "/openapi.json",
    tag,
    summary: "This OpenAPI 3.1 document",
    auth: "none",
    success: { bareJson: "The document itself, not wrapped in the envelope." },
  },
  {
    method: "get",
    path: "/docs",
    tag,
    summary: "Interactive API documentation",
    auth: "none",
    success: { html: "A page listing every operation, where a request can be sent with a bearer token." },
  },
];
