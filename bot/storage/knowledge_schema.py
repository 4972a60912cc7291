"""Schema step for the knowledge feature (see :data:`bot.storage.database.MIGRATIONS`).

Its tables and the queries on them live here, beside the step that creates them.
"""

MIGRATION: tuple[str, ...] = ()
