import * as z from "zod";
import { lazySchema } from "../openapi/lazy-schema";
import { userText } from "../posts/schemas";

export const COMMENT_CONTENT_MAX = 5_000;

export const commentBody = lazySchema(() => z.strictObject({ content: userText("Content", COMMENT_CONTENT_MAX) }));
