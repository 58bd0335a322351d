ALTER TABLE `sessions` ADD `last_proof_jti` text;--> statement-breakpoint
ALTER TABLE `webauthn_challenges` ADD `session_id` text;--> statement-breakpoint
ALTER TABLE `webauthn_challenges` ADD `token_id` text;
