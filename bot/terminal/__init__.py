"""The terminal front end (study, stats, find, export, reset, ...) over the services."""
