"""The use cases, shared by the Telegram bot and the terminal; each owns its transaction."""
