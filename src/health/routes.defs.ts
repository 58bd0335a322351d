import { createRoute } from "@hono/zod-openapi";
import { Health } from "../openapi/resources";
import { failures, success } from "../openapi/responses";

export const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Health check with a real D1 round trip",
  responses: {
    200: success("Healthy", Health),
    ...failures({ code: "INTERNAL_ERROR", status: 503, when: "The database did not answer." }),
  },
});
