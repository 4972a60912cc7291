"""Cutting the knowledge base into searchable passages, per entry and language.

Each entry yields, in every language: its names (title, aliases, keywords, speaker names) as ``name``
passages, FAQ phrasings as ``question`` passages, and the text a person would be answered with as a
``body`` passage. Indexing the answer text itself keeps retrieval and answers in step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import replace

from index.composer import entry_text
from index.knowledge import KnowledgeBase
from index.reading import question_form
from index.schema import Entry, Event, Fact, FaqEntry, Route, Session, Venue
from index.types import LANGS, Lang, Passage


def _names(entry: Entry, lang: Lang) -> list[str]:
    match entry:
        case Event():
            return [entry.name.get(lang), entry.short_name.get(lang)]
        case Fact():
            return [entry.title.get(lang), *entry.keywords.get(lang)]
        case Session():
            speakers = [s.name.get(lang) for s in entry.speakers]
            return [entry.title.get(lang), *entry.keywords.get(lang), *speakers]
        case Venue():
            return [entry.name.get(lang), *entry.aliases.get(lang), *entry.keywords.get(lang)]
        case Route():
            return [f"{entry.origin.get(lang)} {entry.destination.get(lang)}", *entry.keywords.get(lang)]
        case FaqEntry():
            return []
    raise TypeError(f"not a knowledge entry: {entry!r}")


def _people(entry: Entry, lang: Lang) -> list[str]:
    """Each person the entry names, with their role ("Nii Quaynor, “Father of African Internet”")."""
    listed = [*(entry.speakers if isinstance(entry, Session) else ()), *entry.people]
    return [f"{p.name.get(lang)}, {p.role.get(lang)}" if p.role else p.name.get(lang) for p in listed]


def _entry_passages(entry: Entry, kb: KnowledgeBase, lang: Lang) -> Iterator[tuple[str, str]]:
    for name in _names(entry, lang):
        yield "name", name
    for person in _people(entry, lang):
        yield "name", person
    for question in entry.questions.get(lang):
        yield "question", question
    yield "body", entry_text(entry, kb, lang)


def build_passages(kb: KnowledgeBase) -> list[Passage]:
    """All passages of the knowledge base, in a stable order, without duplicates within an entry."""
    passages: list[Passage] = []
    for entry in kb.entries():
        for lang in LANGS:
            seen: set[tuple[str, str]] = set()
            for kind, text in _entry_passages(entry, kb, lang):
                if (kind, text) in seen:
                    continue
                seen.add((kind, text))
                pid = f"{entry.id}:{lang}:{kind}:{len(seen)}"
                passages.append(Passage(pid, entry.id, lang, kind, text))  # type: ignore[arg-type]
    return passages


def name_pairs(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """``(entry_id, name)`` for fuzzy matching: session titles and speakers, venue names and aliases.

    Keywords are left out: they are ordinary words ("conference", "大会"), not names, and a fuzzy match
    on them says little about which entry a question is about.
    """
    pairs: set[tuple[str, str]] = set()
    for lang in LANGS:
        for session in kb.sessions:
            names = [session.title.get(lang), *(s.name.get(lang) for s in session.speakers)]
            pairs.update((session.id, name) for name in names)
        for entry in kb.entries():
            pairs.update((entry.id, p.name.get(lang)) for p in entry.people)
        for venue in kb.venues:
            pairs.update((venue.id, name) for name in [venue.name.get(lang), *venue.aliases.get(lang)])
    return sorted(pairs)


def passages_hash(passages: Sequence[Passage]) -> str:
    """A fingerprint of exactly what gets indexed (knowledge content and how it is composed)."""
    digest = hashlib.sha256()
    for p in passages:
        digest.update(f"{p.passage_id}\0{p.text}\0".encode())
    return digest.hexdigest()


def for_embedding(passage: Passage) -> Passage:
    """The passage as it is embedded: an FAQ phrasing in the form questions are embedded in."""
    return replace(passage, text=question_form(passage.text)) if passage.kind == "question" else passage
