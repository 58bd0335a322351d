-- Per-author counts of posts and comments, kept exact by triggers like
-- posts.comment_count: the content caps (src/content-limits/limits.ts) then
-- read the author's row, not one index entry per post or comment they wrote.
-- Cascades (a post or an account deleted) fire the delete triggers too.
ALTER TABLE `users` ADD `post_count` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE `users` ADD `comment_count` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
UPDATE `users` SET
	`post_count` = (SELECT count(*) FROM `posts` WHERE `posts`.`author_id` = `users`.`id`),
	`comment_count` = (SELECT count(*) FROM `comments` WHERE `comments`.`author_id` = `users`.`id`);
--> statement-breakpoint
CREATE TRIGGER `users_post_count_insert` AFTER INSERT ON `posts` BEGIN
	UPDATE `users` SET `post_count` = `post_count` + 1 WHERE `id` = NEW.`author_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_post_count_delete` AFTER DELETE ON `posts` BEGIN
	UPDATE `users` SET `post_count` = `post_count` - 1 WHERE `id` = OLD.`author_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_comment_count_insert` AFTER INSERT ON `comments` BEGIN
	UPDATE `users` SET `comment_count` = `comment_count` + 1 WHERE `id` = NEW.`author_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_comment_count_delete` AFTER DELETE ON `comments` BEGIN
	UPDATE `users` SET `comment_count` = `comment_count` - 1 WHERE `id` = OLD.`author_id`;
END;
