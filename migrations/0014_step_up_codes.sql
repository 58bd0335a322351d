CREATE TABLE `step_up_codes` (
	`session_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`expires_at` text NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `step_up_codes_expires_at_idx` ON `step_up_codes` (`expires_at`);--> statement-breakpoint
CREATE INDEX `step_up_codes_user_id_idx` ON `step_up_codes` (`user_id`);
