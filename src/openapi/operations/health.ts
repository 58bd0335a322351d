import { component, type Operation } from "../operation";

export const healthOperations: Operation[] = [
  {
    method: "get",
    path: "/health",
    tag: "Operations",
    summary: "Health check with a real D1 round trip",
    auth: "none",
    success: { status: 200, description: "Healthy", data: component("Health") },
    errors: [{ code: "INTERNAL_ERROR", status: 503, when: "The database did not answer." }],
  },
];
