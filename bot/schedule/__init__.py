"""The conference programme as the organisers' tools keep it: import, export and sync.

- :mod:`bot.schedule.model`: a programme read from any source (sessions with aware start times, rooms,
  speakers, tracks) and the problems found reading it, each located by row and column or JSON path.
- :mod:`bot.schedule.readers`: the c3voc ``schedule.json`` (Pretalx, frab), the frab ``schedule.xml``, and
  spreadsheets (CSV, XLSX) with the columns documented in ``docs/schedule.md``.
- :mod:`bot.schedule.knowledge`: a programme written as one knowledge file (``schedule.yaml``) beside the
  hand-written ones, so validation, the diff, Apply, versions and rollback cover it like any other file.
- :mod:`bot.schedule.export`: the served knowledge as ``schedule.json``, ``schedule.xml`` and ``.ics``.
- :mod:`bot.schedule.sync`: conditional fetching of ``SCHEDULE_URL`` (ETag / Last-Modified).

Nothing here imports Telegram.
"""
