-- Keeps table_counts exact for posts and users: every insert and every delete,
-- including those a user deletion cascades to, moves the count in the same
-- transaction as the row.
INSERT INTO `table_counts` (`table_name`, `total`) SELECT 'posts', count(*) FROM `posts`;
--> statement-breakpoint
INSERT INTO `table_counts` (`table_name`, `total`) SELECT 'users', count(*) FROM `users`;
--> statement-breakpoint
CREATE TRIGGER `posts_count_insert` AFTER INSERT ON `posts` BEGIN
	UPDATE `table_counts` SET `total` = `total` + 1 WHERE `table_name` = 'posts';
END;
--> statement-breakpoint
CREATE TRIGGER `posts_count_delete` AFTER DELETE ON `posts` BEGIN
	UPDATE `table_counts` SET `total` = `total` - 1 WHERE `table_name` = 'posts';
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_insert` AFTER INSERT ON `users` BEGIN
	UPDATE `table_counts` SET `total` = `total` + 1 WHERE `table_name` = 'users';
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_delete` AFTER DELETE ON `users` BEGIN
	UPDATE `table_counts` SET `total` = `total` - 1 WHERE `table_name` = 'users';
END;
