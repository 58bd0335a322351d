import { describe, expect, it } from "vitest";
import { api } from "./support/api";
import { createComment, createPost, ISO_TIMESTAMP } from "./support/content";
import { rows } from "./support/db";
import { signedInAs } from "./support/roles";

/*
 * Moderation leaves a trace: every edit or delete of a post or comment by
 * someone other than its author is audited, with the text before (and after),
 * in the same batch as the write, and an edited post or comment shows who
 * edited it and when.
 */

type AuditRow = { action: string; actor_id: string; target_id: string; ip: string | null; details: string };

const auditOf = async (action: string, key: "postId" | "commentId", id: string) =>
  ((await rows("select * from audit_events where action = ? order by created_at", action)) as AuditRow[])
    .map((row) => ({ ...row, details: JSON.parse(row.details) }))
    .filter((row) => row.details[key] === id);

describe.each(["moderator", "admin"] as const)("a %s changing someone else's content", (role) => {
  it("edits a post: editedBy/editedAt show it, and the audit has the text before and after", async () => {
    const author = await signedInAs("admin");
    const staff = await signedInAs(role);
    const post = await createPost(author.accessToken, { title: "Announcement", content: "Original text" });

    const res = await api("PATCH", `/posts/${post.id}`, {
      token: staff.accessToken,
      body: { content: "Please DM your password to mod1" },
      ip: "10.20.30.40",
    });
    expect(res.status).toBe(200);
    expect(res.body.data.post).toMatchObject({
      authorId: author.user.id,
      editedBy: staff.user.id,
      editedAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    expect(res.body.data.post.editedAt).toBe(res.body.data.post.updatedAt);
    const read = await api("GET", `/posts/${post.id}`, { token: author.accessToken });
    expect(read.body.data.post).toMatchObject({ editedBy: staff.user.id, editedAt: res.body.data.post.editedAt });

    expect(await auditOf("post_update", "postId", post.id)).toEqual([
      expect.objectContaining({
        actor_id: staff.user.id,
        target_id: author.user.id,
        ip: "10.20.30.40",
        details: {
          postId: post.id,
          before: { title: "Announcement", content: "Original text" },
          after: { content: "Please DM your password to mod1" },
        },
      }),
    ]);

    // The admin's audit view shows it too, under the author's id.
    const admin = await signedInAs("admin");
    const trail = await api("GET", `/audit?userId=${author.user.id}&action=post_update`, { token: admin.accessToken });
    expect(trail.body.data).toHaveLength(1);
  });

  it("keeps the mark when the author edits afterwards, and audits only the moderation", async () => {
    const author = await signedInAs("user");
    const staff = await signedInAs(role);
    const post = await createPost(author.accessToken);
    const moderated = await api("PUT", `/posts/${post.id}`, {
      token: staff.accessToken,
      body: { title: "Moderated", content: "Moderated" },
    });
    const own = await api("PATCH", `/posts/${post.id}`, { token: author.accessToken, body: { content: "Mine again" } });
    expect(own.status).toBe(200);
    expect(own.body.data.post).toMatchObject({
      content: "Mine again",
      editedBy: staff.user.id,
      editedAt: moderated.body.data.post.editedAt,
    });
    expect(own.body.data.post.updatedAt > moderated.body.data.post.updatedAt).toBe(true);
    expect(await auditOf("post_update", "postId", post.id)).toHaveLength(1);
  });

  it("deletes a post: audited with the deleted text", async () => {
    const author = await signedInAs("user");
    const staff = await signedInAs(role);
    const post = await createPost(author.accessToken, { title: "Gone", content: "Soon gone" });
    expect((await api("DELETE", `/posts/${post.id}`, { token: staff.accessToken })).status).toBe(200);
    expect(await auditOf("post_delete", "postId", post.id)).toEqual([
      expect.objectContaining({
        actor_id: staff.user.id,
        target_id: author.user.id,
        details: { postId: post.id, before: { title: "Gone", content: "Soon gone" } },
      }),
    ]);
  });

  it("edits and deletes a comment: editedBy/editedAt, and both audited with the text", async () => {
    const author = await signedInAs("user");
    const staff = await signedInAs(role);
    const post = await createPost(author.accessToken);
    const comment = await createComment(author.accessToken, post.id, "Rude words");

    const edited = await api("PATCH", `/comments/${comment.id}`, {
      token: staff.accessToken,
      body: { content: "[removed]" },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.data.comment).toMatchObject({
      editedBy: staff.user.id,
      editedAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    const listed = await api("GET", `/posts/${post.id}/comments`, { token: author.accessToken });
    expect(listed.body.data[0]).toMatchObject({ id: comment.id, editedBy: staff.user.id });
    expect(await auditOf("comment_update", "commentId", comment.id)).toEqual([
      expect.objectContaining({
        actor_id: staff.user.id,
        target_id: author.user.id,
        details: {
          commentId: comment.id,
          postId: post.id,
          before: { content: "Rude words" },
          after: { content: "[removed]" },
        },
      }),
    ]);

    expect((await api("DELETE", `/comments/${comment.id}`, { token: staff.accessToken })).status).toBe(200);
    expect(await auditOf("comment_delete", "commentId", comment.id)).toEqual([
      expect.objectContaining({
        actor_id: staff.user.id,
        details: { commentId: comment.id, postId: post.id, before: { content: "[removed]" } },
      }),
    ]);
  });

  it("audits exactly once when two moderators delete the same post at the same moment", async () => {
    const author = await signedInAs("user");
    const [one, two] = await Promise.all([signedInAs(role), signedInAs(role)]);
    const post = await createPost(author.accessToken);
    const results = await Promise.all(
      [one, two, one, two].map((s) => api("DELETE", `/posts/${post.id}`, { token: s.accessToken })),
    );
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(await auditOf("post_delete", "postId", post.id)).toHaveLength(1);
  });
});

describe("the author's own changes", () => {
  it.each(["user", "moderator", "admin"] as const)(
    "a %s editing or deleting their own post and comment is not audited as moderation and sets no editedBy",
    async (role) => {
      const author = await signedInAs(role);
      const post = await createPost(author.accessToken);
      const comment = await createComment(author.accessToken, post.id);
      const edited = await api("PATCH", `/posts/${post.id}`, { token: author.accessToken, body: { title: "Own" } });
      expect(edited.body.data.post).toMatchObject({ editedBy: null, editedAt: null });
      const editedComment = await api("PATCH", `/comments/${comment.id}`, {
        token: author.accessToken,
        body: { content: "Own" },
      });
      expect(editedComment.body.data.comment).toMatchObject({ editedBy: null, editedAt: null });
      await api("DELETE", `/comments/${comment.id}`, { token: author.accessToken });
      await api("DELETE", `/posts/${post.id}`, { token: author.accessToken });
      expect(await auditOf("post_update", "postId", post.id)).toEqual([]);
      expect(await auditOf("post_delete", "postId", post.id)).toEqual([]);
      expect(await auditOf("comment_update", "commentId", comment.id)).toEqual([]);
      expect(await auditOf("comment_delete", "commentId", comment.id)).toEqual([]);
    },
  );

  it("a user refused with 403 on someone else's post leaves no audit row and no mark", async () => {
    const author = await signedInAs("user");
    const other = await signedInAs("user");
    const post = await createPost(author.accessToken);
    expect((await api("PATCH", `/posts/${post.id}`, { token: other.accessToken, body: { title: "x" } })).status).toBe(
      403,
    );
    expect((await api("DELETE", `/posts/${post.id}`, { token: other.accessToken })).status).toBe(403);
    expect(await auditOf("post_update", "postId", post.id)).toEqual([]);
    expect(await auditOf("post_delete", "postId", post.id)).toEqual([]);
    expect((await api("GET", `/posts/${post.id}`, { token: author.accessToken })).body.data.post.editedBy).toBeNull();
  });
});
