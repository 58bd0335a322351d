-- A post's comment count is a column kept exact by triggers, like table_counts:
-- reading a post or a page of comments then costs the post's row, not one
-- index entry per comment. Cascades (a post or an account deleted) fire the
-- delete trigger too.
ALTER TABLE `posts` ADD `comment_count` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
UPDATE `posts` SET `comment_count` = (SELECT count(*) FROM `comments` WHERE `comments`.`post_id` = `posts`.`id`);
--> statement-breakpoint
CREATE TRIGGER `comments_count_insert` AFTER INSERT ON `comments` BEGIN
	UPDATE `posts` SET `comment_count` = `comment_count` + 1 WHERE `id` = NEW.`post_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `comments_count_delete` AFTER DELETE ON `comments` BEGIN
	UPDATE `posts` SET `comment_count` = `comment_count` - 1 WHERE `id` = OLD.`post_id`;
END;
