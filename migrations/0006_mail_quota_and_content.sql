CREATE TABLE `mail_quota` (
	`kind` text NOT NULL,
	`address_hash` text NOT NULL,
	`window_start` integer NOT NULL,
	`sent` integer NOT NULL,
	PRIMARY KEY(`kind`, `address_hash`)
);
--> statement-breakpoint
ALTER TABLE `posts` ADD `edited_by` text;--> statement-breakpoint
ALTER TABLE `posts` ADD `edited_at` text;--> statement-breakpoint
ALTER TABLE `comments` ADD `edited_by` text;--> statement-breakpoint
ALTER TABLE `comments` ADD `edited_at` text;
