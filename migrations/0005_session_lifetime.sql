-- When the session's current refresh token was issued: a presentation of the
-- previous token is a harmless retry (two tabs refreshing at once) only within
-- REFRESH_REUSE_GRACE seconds of it, and theft after. NULL for sessions that
-- were never refreshed since this migration, which therefore get no grace.
ALTER TABLE `sessions` ADD `rotated_at` text;
