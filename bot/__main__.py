"""``python -m bot`` does what the ``summit-bot`` command does."""

from bot.cli import main

main()
