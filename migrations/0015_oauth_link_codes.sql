ALTER TABLE `oauth_login_codes` ADD `purpose` text DEFAULT 'sign_in' NOT NULL;--> statement-breakpoint
ALTER TABLE `oauth_login_codes` ADD `subject` text;--> statement-breakpoint
ALTER TABLE `oauth_login_codes` ADD `email` text;--> statement-breakpoint
ALTER TABLE `oauth_login_codes` ADD `email_verified` integer;
