CREATE TABLE `login_failures` (
	`email` text NOT NULL,
	`scope` text NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`email`, `scope`)
);
--> statement-breakpoint
CREATE INDEX `login_failures_expires_at_idx` ON `login_failures` (`expires_at`);--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `failed_login_count`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `locked_until`;
