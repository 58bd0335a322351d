ALTER TABLE `mfa_challenges` ADD `first_factor` text DEFAULT 'pwd' NOT NULL;
