"""The Telegram layer: one module of handlers per feature, wired together in :mod:`bot.telegram.app`."""
