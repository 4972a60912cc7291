"""The code is knowledge-driven, not event-driven: no string or name in the code of ``index/`` or ``bot/``
names this event's places, venues, people, organisations or bus lines. Those live in the knowledge files
(and the place-name variants in ``index/place_names.yaml``), so the next summit needs no code change.

The names are taken from the knowledge files themselves. Docstrings and comments may quote an example
question; string literals (patterns, texts) and identifiers may not name the event's things."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import yaml

from index.knowledge import load_knowledge
from index.numerals import PLACE_NAMES_FILE
from index.schema import Event, Route, Session, Venue
from index.types import LANGS

ROOT = Path(__file__).resolve().parents[2]
LINE_CODE = re.compile(r"\b[A-Z]{1,2}\d{2,4}\b")
"""A bus or train line's code as the knowledge writes it ("K282")."""
ACRONYM = re.compile(r"\(([A-Z]{2,6})\)")
"""An acronym given in brackets after a full name ("World Internet Conference (WIC)")."""


def event_names() -> set[str]:
    """The names of this event's places, venues, people, organisations and bus lines, in every language,
    as the knowledge files and the place-name variants write them."""
    kb = load_knowledge(ROOT / "knowledge")
    names: set[str] = set()
    places = yaml.safe_load(PLACE_NAMES_FILE.read_text(encoding="utf-8"))["places"]
    for item in places:
        for canonical, variants in item.items():
            names.update([canonical, *variants])
    for entry in kb.entries():
        people = [*entry.people, *(entry.speakers if isinstance(entry, Session) else ())]
        for lang in LANGS:
            for person in people:
                names.add(person.name.get(lang))
            if isinstance(entry, Venue):
                names.add(entry.name.get(lang))
            if isinstance(entry, Route):
                names.update([entry.origin.get(lang), entry.destination.get(lang)])
            if isinstance(entry, Event):
                names.update(re.split(r"[,，、]\s*", entry.location.get(lang)))
                names.update(ACRONYM.findall(entry.name.get(lang)))
        texts = yaml.safe_dump(entry.model_dump(mode="json"), allow_unicode=True)
        names.update(LINE_CODE.findall(texts))
    return {" ".join(name.split()) for name in names if len(name.strip()) >= 2}


def _docstrings(tree: ast.AST) -> set[int]:
    """Line numbers of the string expressions that document (module, class, function, attribute)."""
    return {
        node.value.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def code_words(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals (not docstrings) and identifiers of a Python file, with their lines."""
    source = path.read_text(encoding="utf-8")
    documenting = _docstrings(ast.parse(source))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        code = token.type == tokenize.STRING and token.start[0] not in documenting
        if code or token.type == tokenize.NAME:
            yield token.start[0], token.string


def _pattern(names: set[str]) -> re.Pattern[str]:
    """One pattern finding any of ``names``: Latin ones as whole words, any case; others anywhere."""
    parts = sorted((re.escape(n.casefold()) for n in names), key=len, reverse=True)
    latin = [p for p in parts if p.isascii()]
    other = [p for p in parts if not p.isascii()]
    return re.compile("|".join([rf"(?<![a-z0-9])(?:{'|'.join(latin)})(?![a-z0-9])", *other]))


def test_the_name_list_comes_from_the_knowledge() -> None:
    names = {n.casefold() for n in event_names()}
    # Places, venues, people, organisations and bus lines, in each script.
    assert {"wuzhen", "乌镇", "อูเจิ้น", "k282", "wic"} <= names
    assert any("convention" in n for n in names) and any(n.isascii() and " " in n for n in names)
    found = _pattern(event_names())
    assert found.search("how do i get to wuzhen?") and found.search("乌真怎么走")
    assert not found.search("wuzhenless") and not found.search("when does it start")


def test_no_event_names_in_code() -> None:
    found = _pattern(event_names())
    hits = [
        f"{path.relative_to(ROOT)}:{line}: {word}"
        for package in ("index", "bot")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, word in code_words(path)
        if found.search(word.casefold())
    ]
    assert not hits, "event-specific names in code (move them to the knowledge or its vocabulary data):\n" + (
        "\n".join(hits)
    )
