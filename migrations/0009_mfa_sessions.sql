ALTER TABLE `sessions` ADD `amr` text;
