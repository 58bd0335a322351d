import type { Tag } from "../document";
import type { Operation } from "../operation";
import { auditOperations } from "./audit";
import { authOperations } from "./auth";
import { docsOperations } from "./docs";
import { emailOperations } from "./email";
import { healthOperations } from "./health";
import { meOperations } from "./me";
import { postOperations } from "./posts";
import { userOperations } from "./users";

/** Every route the app mounts, described. test/openapi.test.ts fails when this and `app.routes` differ. */
export const operations: Operation[] = [
  ...authOperations,
  ...emailOperations,
  ...meOperations,
  ...userOperations,
  ...auditOperations,
  ...postOperations,
  ...healthOperations,
  ...docsOperations,
];

export const tags: Tag[] = [
  { name: "Authentication", description: "Accounts, tokens, email verification and password reset." },
  { name: "Signed-in user", description: "The caller's own account, password and sessions." },
  { name: "User management", description: "Moderators list and read users; admins change and delete them." },
  { name: "Posts and comments", description: "Anyone signed in reads and writes; owners, moderators and admins edit." },
  { name: "Emailed link pages", description: "HTML pages that emailed links open." },
  { name: "Operations", description: "Health and this documentation." },
];
