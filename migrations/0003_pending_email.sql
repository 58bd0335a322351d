-- A requested email change waits here until the new address is confirmed
-- (POST /verify-email); until then login, resets and mail use `email`.
-- It lapses with its verification token, at `pending_email_expires_at`.
ALTER TABLE `users` ADD `pending_email` text COLLATE NOCASE;
--> statement-breakpoint
ALTER TABLE `users` ADD `pending_email_expires_at` text;
