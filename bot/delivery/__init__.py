"""The one sender of every outgoing message: replies, announcements, reminders and alerts.

- :mod:`bot.delivery.transport`: what the sender needs from the Bot API, and the failures it tells apart;
- :mod:`bot.delivery.scheduler`: which message goes next (priorities, round-robin over chats, the
  overall and per-chat rate limits), pure and clock-driven;
- :mod:`bot.delivery.sender`: the durable outbox in SQLite and the loop that sends through a transport.

Nothing here imports telegram: the Telegram layer supplies the transport (:mod:`bot.telegram.bot_api`).
"""
