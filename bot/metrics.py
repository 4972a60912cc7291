"""The bot's Prometheus metrics, defined once here and updated by the services that own each figure.

Exposed by the ``/metrics`` endpoint in the Prometheus text format. Names follow Prometheus'
conventions (``_total`` counters, ``_seconds`` histograms); labels have small fixed value sets.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

REGISTRY = CollectorRegistry(auto_describe=True)
"""The bot's own registry (not the process-wide default), so tests can create several bots."""

QUESTIONS = Counter(
    "summit_bot_questions",
    "Questions answered, by language and outcome (answer, clarify, decline, gap, smalltalk).",
    ["language", "outcome"],
    registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "summit_bot_answer_seconds",
    "Time from a question reaching the answering service to its answer being ready.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ENGINE = Info("summit_bot_engine", "The knowledge index being served.", registry=REGISTRY)
SEND_QUEUE = Gauge(
    "summit_bot_send_queue", "Messages waiting in the sender's queue, by kind.", ["kind"], registry=REGISTRY
)
MESSAGES_SENT = Counter(
    "summit_bot_messages_sent", "Messages Telegram accepted, by kind.", ["kind"], registry=REGISTRY
)
MESSAGES_REFUSED = Counter(
    "summit_bot_messages_refused",
    "Messages Telegram refused, by kind and reason (blocked, flood, bad_request, network, other).",
    ["kind", "reason"],
    registry=REGISTRY,
)
BROADCASTS_RUNNING = Gauge(
    "summit_bot_broadcasts_running", "Announcements being delivered now.", registry=REGISTRY
)
REMINDERS_DUE = Gauge(
    "summit_bot_reminders_due", "Session reminders due and not yet sent.", registry=REGISTRY
)
WEBHOOK_REFUSED = Counter(
    "summit_bot_webhook_refused",
    "Webhook requests answered 400 because the body was not an update, by reason "
    "(json, type, update_id, fields, ingest).",
    ["reason"],
    registry=REGISTRY,
)
