"""Follow-up questions: "and from Shanghai?", "what about the closing?", "那几点开始？", "แล้วจัดที่ไหน".

A chat's :class:`Topic` is the entry its last answer came from, the question that led to it, its
language and when it was asked; it stays in mind for ``window_minutes`` (``followup.yaml``). A new
question leans on it when it opens with a continuation ("and", "what about", "那", "แล้ว"), ends with
one ("上海呢", "พิธีปิดล่ะ"), points back ("it", "那里", "ที่นั่น"), or asks only about an aspect
("what time?", "几点开始", "จัดที่ไหน"). Such a question is searched with the topic added:

* when it names nothing new (only an aspect), with the previous entry's title: "几点开始" after the
  opening ceremony is searched as "开幕式 几点开始";
* when it names something new ("and from Shanghai?", "打车呢？", "what about the closing?"), with the
  previous question minus what the new words replace: its places when a place is named, its ways of
  travelling when one is named, the previous session's or venue's name. After "How do I get to
  Wuzhen from Hangzhou?", "and from Shanghai?" is searched as "from shanghai how do i get to from";
  after "How do I get from Tongxiang station to Wuzhen?", "and by bus?" keeps the station.

A question with more than ``max_new_words`` new words is read on its own, whatever its opening, and
so is one that names something new with its own question word after an opening ("and how many
countries attended?").
The words are data (``followup.yaml``); this module only builds the text to search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import yaml

from index.answers import FOLLOWUP_FILE, Answer, Topic
from index.composer import entry_title
from index.knowledge import KnowledgeBase
from index.language import detect_language
from index.numerals import canonical_places
from index.schema import Session, Venue
from index.textproc import QUESTION_WORDS, normalise, terms
from index.types import LANGS, Lang

_LATIN_WORD = re.compile(r"[0-9a-z]+(?:'[a-z]+)?")
_EDGE_PUNCTUATION = " ?？!！。.,，、~…"


@cache
def _data() -> dict[str, Any]:
    data = yaml.safe_load(FOLLOWUP_FILE.read_text(encoding="utf-8"))
    groups = [data[key] for key in ("openings", "endings", "pointers", "aspects")]
    groups += list(data["kinds"].values())
    for group in groups:
        for lang in LANGS:
            words = [normalise(str(w), limit=None) for w in group.get(lang) or []]
            group[lang] = sorted(words, key=len, reverse=True)
    return data


def aspect_words() -> dict[Lang, frozenset[str]]:
    """Per language, the words that ask about an aspect or point back without naming anything
    (``aspects`` and ``pointers``)."""
    data = _data()
    return {lang: frozenset(data["aspects"][lang]) | frozenset(data["pointers"][lang]) for lang in LANGS}


def _words(text: str, lang: Lang) -> list[str]:
    """Surface words: Latin words as written (lower case), Thai and Chinese words as segmented."""
    if lang == "en":
        return _LATIN_WORD.findall(text)
    return [term.word for term in terms(text, lang, limit=None)]


def _strip_opening(text: str, lang: Lang) -> tuple[str, bool]:
    for opening in _data()["openings"][lang]:
        if text.startswith(opening):
            rest = text[len(opening) :]
            if lang == "en" and rest and rest[0].isalnum():
                continue  # "andrew", "so-called": not an opening word
            return rest.strip(_EDGE_PUNCTUATION), True
    return text, False


def _strip_ending(text: str, lang: Lang) -> tuple[str, bool]:
    for ending in _data()["endings"][lang]:
        if text.endswith(ending) and len(text) > len(ending):
            return text[: -len(ending)].strip(_EDGE_PUNCTUATION), True
    return text, False


def _points_back(text: str, lang: Lang) -> bool:
    pointers = _data()["pointers"][lang]
    if lang == "en":
        return bool(set(_LATIN_WORD.findall(text)) & set(pointers))
    return any(p in text for p in pointers)


def _new_words(core: str, lang: Lang) -> list[str]:
    """The words of ``core`` that name something: not question words, aspects or pointers.

    A Thai or Chinese compound made only of such words ("ใช้เวลานาน": take + time + long) names nothing.
    """
    data = _data()
    skip = QUESTION_WORDS | set(data["aspects"][lang]) | set(data["pointers"][lang])
    if lang == "en":
        return [w for w in _words(core, lang) if w not in skip and w not in _english_function_words()]
    return [
        t.word
        for t in terms(core, lang, limit=None)
        if t.word not in skip and not (t.parts and all(p in skip for p in t.parts))
    ]


@cache
def _english_function_words() -> frozenset[str]:
    from index.textproc import _STOPWORDS_EN  # the tokeniser's own list

    return frozenset(_STOPWORDS_EN) | {"from", "to", "about", "what", "how"}


@dataclass(frozen=True)
class FollowUp:
    """How a follow-up question is read: the text to search and whether it names a new topic."""

    query: str
    new_topic: bool


def read_followup(question: str, lang: Lang, topic: Topic, kb: KnowledgeBase) -> FollowUp | None:
    """The search text for ``question`` read together with ``topic``, or None when it stands alone."""
    entry = kb.by_id.get(topic.entry_id)
    if entry is None:
        return None
    text = normalise(question).strip(_EDGE_PUNCTUATION)
    if not text:
        return None
    core, opened = _strip_opening(text, lang)
    core, ended = _strip_ending(core, lang)
    new = _new_words(core, lang)
    pointed = _points_back(core, lang)
    if len(new) > int(_data()["max_new_words"]):
        return None
    if not new:
        if not (opened or ended or pointed or _words(core, lang)):
            return None
        return FollowUp(f"{entry_title(entry, lang)} {core}".strip(), new_topic=False)
    if not (opened or ended or pointed):
        return None
    if opened and not (ended or pointed) and _asks_on_its_own(core, lang):
        return None  # "and how many countries attended?" is a whole question after its "and"
    return FollowUp(f"{core} {_residue(topic, core, kb)}".strip(), new_topic=True)


def _asks_on_its_own(core: str, lang: Lang) -> bool:
    """Whether ``core`` has its own question word (it names something new, so it is a whole question)."""
    if lang == "en":
        return any(w in QUESTION_WORDS for w in _words(core, lang))
    return any(term.word in QUESTION_WORDS for term in terms(core, lang, limit=None))


def _residue(topic: Topic, core: str, kb: KnowledgeBase) -> str:
    """The previous question without what the follow-up replaces in it.

    When the follow-up names a place, a way of travelling, a day or a part of the programme ("and from
    Shanghai?", "打车呢？", "and on the 9th?", "what about the closing?"), those of the previous
    question go ("How do I get to Wuzhen from Hangzhou?" leaves "how do i get to from"). When the
    previous topic was a session or a venue, its name goes too. What was asked stays.
    """
    lang = topic.language
    previous = normalise(topic.question).strip(_EDGE_PUNCTUATION)
    drop: set[str] = set()
    for words in _kinds(lang).values():
        if any(_mentions(core, w, lang) for w in words):
            drop.update(words)
    entry = kb.by_id.get(topic.entry_id)
    if isinstance(entry, Session | Venue):
        drop.update(_name_words(entry_title(entry, lang), lang))
    if lang == "en":
        return " ".join(w for w in _LATIN_WORD.findall(previous) if w not in drop)
    for word in sorted(drop, key=len, reverse=True):
        if word.isascii():  # a number or a Latin name inside Thai or Chinese: whole words only
            previous = re.sub(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])", " ", previous)
        else:
            previous = previous.replace(word, " ")
    return " ".join(previous.split())


def _name_words(name: str, lang: Lang) -> set[str]:
    text = normalise(name, limit=None)
    if lang == "en":
        return set(_LATIN_WORD.findall(text)) - _english_function_words()
    return {text}


def _mentions(text: str, word: str, lang: Lang) -> bool:
    if lang == "en" or word.isascii():
        return re.search(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])", text) is not None
    return word in text


@cache
def _kinds(lang: Lang) -> dict[str, frozenset[str]]:
    """Groups of words a follow-up swaps for one another: places (every spelling the knowledge base
    uses, see ``place_names.yaml``) and the kinds listed in ``followup.yaml``."""
    kinds = {name: frozenset(by_lang[lang]) for name, by_lang in _data()["kinds"].items()}
    places = {normalise(name, limit=None) for name in canonical_places()}
    kinds["place"] = frozenset(p for p in places if detect_language(p) == lang)
    return kinds


def topic_after(answer: Answer, at: datetime, previous: Topic | None, kb: KnowledgeBase) -> Topic | None:
    """What a chat is about after ``answer`` (None: it keeps its previous topic).

    An answer, or an entry saying its fact is not published, makes that entry the topic. For a
    follow-up the question remembered is the one it was read as ("from Shanghai how do I get to"), so
    a second follow-up still knows what was being asked.
    """
    if answer.outcome == "answer" and answer.sources:
        entry_id = answer.sources[0]
    elif answer.outcome == "gap" and (answer.sources or answer.best):
        entry_id = answer.sources[0] if answer.sources else answer.best
    else:
        return None
    question = answer.question
    if previous is not None:
        followup = read_followup(question, answer.language, previous, kb)
        if followup is not None:
            question = followup.query
    return Topic(entry_id, answer.language, question, at)
