"""Code-mixed questions: words of another script read in the question's own language.

Attendees mix languages: "the 开幕式 is which day?", "opening ceremony几点开始", "ไป venue ยังไงดี". A
run of text in a script other than the question's is looked up among the names the knowledge gives in
every language (the event's name, sessions' and facts' titles, venues' names and aliases, the places
routes run between); a name found is written in the question's language ("the opening ceremony is which
day?", "trains from 上海" -> "trains from shanghai"), so every step after the reading sees one
language. The names come from the knowledge: a new event needs no change here.

:func:`bridged` is the other half: the question with its foreign words taken out and the words around
them joined ("ไป venue ยังไงดี" -> "ไปยังไงดี"), so a pattern of the question's language that a foreign
word interrupts ("ไปยังไง", how to get there) still matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from index.knowledge import KnowledgeBase
from index.language import HAN_SCRIPT, THAI_SCRIPT
from index.schema import Event, Fact, I18n, Route, Session, Venue
from index.textproc import normalise
from index.types import LANGS, Lang

_RUNS: dict[Lang, re.Pattern[str]] = {
    "en": re.compile(r"[a-z][a-z0-9'’&.\- ]*[a-z0-9]|[a-z]"),
    "zh": re.compile(rf"(?:{HAN_SCRIPT.pattern})+"),
    "th": re.compile(r"[\u0e00-\u0e7f]+(?: [\u0e00-\u0e7f]+)*"),
}
"""A run of text in each language's script (Latin words with the spaces between them; Han characters;
Thai words with the spaces between them), matched on normalised text."""
MIN_CHARS: dict[Lang, int] = {"en": 4, "zh": 2, "th": 3}
"""The shortest name looked up in each script: shorter ones ("wic", "会") mean too many things."""


def script_of(text: str) -> Lang:
    """The language whose script ``text`` (one run) is written in."""
    if THAI_SCRIPT.search(text):
        return "th"
    if HAN_SCRIPT.search(text):
        return "zh"
    return "en"


def foreign_runs(text: str, lang: Lang) -> Iterator[re.Match[str]]:
    """The runs of ``text`` (normalised) written in a script other than ``lang``'s."""
    for other in LANGS:
        if other != lang:
            yield from _RUNS[other].finditer(text)


_GAP = re.compile(r"\s+")


def bridged(text: str, lang: Lang) -> str:
    """``text`` (normalised) without its words of another script, the words around them joined as the
    language writes them: without a space in Thai and Chinese ("ไป venue ยังไงดี" -> "ไปยังไงดี"), with one
    in English ("the 开幕式 is which day" -> "the is which day"). ``text`` itself when it has none."""
    runs = sorted(foreign_runs(text, lang), key=lambda m: m.start())
    if not runs:
        return text
    joiner = " " if lang == "en" else ""
    out, at = [], 0
    for run in runs:
        out.append(text[at : run.start()].rstrip())
        at = run.end()
        while at < len(text) and text[at] == " ":
            at += 1
    out.append(text[at:])
    return joiner.join(part for part in out if part).strip()


def _names(kb: KnowledgeBase) -> Iterator[I18n | dict[Lang, str]]:
    for entry in kb.entries():
        match entry:
            case Event():
                yield entry.name
                yield entry.short_name
            case Session() | Fact():
                yield entry.title
            case Route():
                yield entry.origin
                yield entry.destination
            case Venue():
                yield entry.name
                # Each alias stands for the venue's name in the other languages.
                for lang in LANGS:
                    for alias in entry.aliases.get(lang):
                        yield {lang: alias, **{o: entry.name.get(o) for o in LANGS if o != lang}}


class Glossary:
    """The names the knowledge gives in every language, for reading code-mixed questions."""

    def __init__(self, kb: KnowledgeBase) -> None:
        table: dict[Lang, dict[str, dict[Lang, str]]] = {lang: {} for lang in LANGS}
        for name in _names(kb):
            forms = {lang: normalise(_get(name, lang), limit=None) for lang in LANGS}
            for lang, form in forms.items():
                if len(form) >= MIN_CHARS[lang] and script_of(form) == lang and form not in table[lang]:
                    table[lang][form] = forms
        self._table = table
        self._patterns = {
            lang: re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
            if forms
            else None
            for lang, forms in table.items()
        }

    def in_language(self, text: str, lang: Lang) -> str:
        """``text`` (normalised) with each name of another script that the knowledge gives in ``lang``
        written in ``lang`` ("the 开幕式 is which day?" -> "the opening ceremony is which day?")."""
        replaced: list[tuple[int, int, str]] = []
        for run in foreign_runs(text, lang):
            other = script_of(run.group())
            pattern = self._patterns[other]
            if pattern is None:
                continue
            for found in pattern.finditer(run.group()):
                if other == "en" and not _whole_words(run.group(), found):
                    continue
                target = self._table[other][found.group()].get(lang, "")
                if target and script_of(target) == lang:
                    replaced.append((run.start() + found.start(), run.start() + found.end(), target))
        if not replaced:
            return text
        out, at = [], 0
        for start, end, target in sorted(replaced):
            pad = " " if lang == "en" else ""
            out.append(f"{text[at:start]}{pad}{target}{pad}")
            at = end
        out.append(text[at:])
        return " ".join("".join(out).split())


def _whole_words(run: str, found: re.Match[str]) -> bool:
    before = run[found.start() - 1] if found.start() else " "
    after = run[found.end()] if found.end() < len(run) else " "
    return not before.isalnum() and not after.isalnum()


def _get(name: I18n | dict[Lang, str], lang: Lang) -> str:
    return name.get(lang) if isinstance(name, I18n) else name.get(lang, "")
