import { defineConfig } from "drizzle-kit";

// Generates flat migrations/NNNN_name.sql files, which wrangler applies and
// the test pool reads with readD1Migrations.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
