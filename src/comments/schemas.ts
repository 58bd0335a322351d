import * as z from "zod";
import { userText } from "../posts/schemas";

export const COMMENT_CONTENT_MAX = 5_000;

export const commentBody = z.strictObject({ content: userText("Content", COMMENT_CONTENT_MAX) });
