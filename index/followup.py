"""Follow-up questions: "and from Shanghai?", "what about the closing?", "那几点开始？", "แล้วจัดที่ไหน".

A chat's :class:`Topic` is the entry its last answer came from, the question that led to it, its
language and when it was asked; it stays in mind for ``window_minutes`` (``followup.yaml``). Whether a
new question keeps the topic or drops it is decided by what it names, read against the knowledge
base's own words (:class:`_Vocabulary`): the words that name each entry (titles, names, aliases,
keywords, the questions it answers) and every word the knowledge holds. Openings ("and", "what
about", "那", "แล้ว"), endings ("上海呢", "พิธีปิดล่ะ"), pointers ("it", "那个", "ที่นั่น") and aspect
words ("what time", "几点开始", "จัดที่ไหน") are data (``followup.yaml``); the content words left are:

* **nothing new** (only aspects, a pointer, or words the topic's entry or question already holds): the
  topic is kept and the new aspect is asked of its thing, a session's, venue's or route's name, else
  the words of the previous question the knowledge speaks of. "那几点开始？" after "峰会在哪里举办？"
  is searched as "峰会 几点开始" (when the summit starts), not as the venue question again; a pointer
  ("那个forum的theme") keeps the thing whatever else the turn names, unless it names a place, a way of
  travelling or a day;
* **a thing the knowledge speaks of**, after an opening or before an ending, without a question word of
  its own ("and the closing?", "上海呢", "แล้วคุณภาพอากาศล่ะ"): it takes the place of the topic's thing
  in the previous question. A place, a way of travelling or a day swaps for the words of its kind
  ("How do I get to Wuzhen from Hangzhou?" then "and from Shanghai?" is searched as "from shanghai how
  do i get to from"; "and by bus?" keeps the station); another thing drops the words naming the
  topic's entry ("when's the opening ceremony" then "and the closing?": "the closing when's the");
* **read on its own**: a new thing with its own question word ("and the closing, where?"), a new thing
  without an opening, ending or pointer (a whole new question), words the knowledge never uses ("and
  the wifi password?"), or more than ``max_new_words`` new words. Naming the event itself ("the
  summit", "峰会", "งานประชุม") leaves any topic but the event.

Words are compared in any mix of scripts (a Thai or Chinese turn with English words is read in both),
Latin words by their stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from index.answers import FOLLOWUP_FILE, Answer, Topic
from index.composer import entry_title
from index.files import read_yaml
from index.knowledge import KnowledgeBase
from index.numerals import canonical_places
from index.schema import Entry, Fact, FaqEntry, Route, Session, Venue
from index.shorthand import expand_shorthand
from index.smalltalk import after_small_talk
from index.textproc import QUESTION_WORDS, normalise, terms
from index.types import LANGS, Lang

_LATIN_WORD = re.compile(r"[0-9a-z]+(?:'[a-z]+)?")
_EDGE_PUNCTUATION = " ?？!！。.,，、~…"
_SWAPPED_KINDS = ("place", "transport", "day")
"""Kinds of word a follow-up swaps for another of the same kind, keeping the rest of what was asked."""
_TELLING = frozenset({"answer", "text", "summary", "description", "notes", "capacity_of", "unpublished"})
"""An entry's fields that tell about it rather than name it."""
_ASKED = frozenset({"questions"})
"""An entry's field of the questions it answers."""


@cache
def _data() -> dict[str, Any]:
    data = read_yaml(FOLLOWUP_FILE)
    groups = [data[key] for key in ("openings", "endings", "pointers", "aspects")]
    groups += list(data["kinds"].values())
    for group in groups:
        for lang in LANGS:
            words = [normalise(str(w), limit=None) for w in group.get(lang) or []]
            group[lang] = sorted(words, key=len, reverse=True)
    return data


def _forms(text: str) -> list[tuple[str, ...]]:
    """The words of ``text`` in any mix of scripts, each as its forms (the word, then its parts).

    Latin words are stemmed ("starts" and "start" are one form), Thai and Chinese ones segmented; the
    tokeniser's stopwords are left out.
    """
    return [(t.word, *t.parts) for t in terms(text, "en", limit=None)]


def _form_set(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(form for text in texts for word in _forms(text) for form in word)


@cache
def _aspect_forms() -> frozenset[str]:
    """Words that ask about an aspect or point back, in every language (a turn may mix them)."""
    data = _data()
    words = [w for key in ("aspects", "pointers") for lang in LANGS for w in data[key][lang]]
    return _form_set(words) | _form_set(QUESTION_WORDS) | frozenset(_english_function_words())


@cache
def _kinds_forms() -> dict[str, frozenset[str]]:
    """Per swapped kind, the forms of its words in every language; places in every spelling the knowledge
    base uses (``place_names.yaml``)."""
    kinds = {
        name: _form_set(w for lang in LANGS for w in by_lang[lang])
        for name, by_lang in _data()["kinds"].items()
    }
    kinds["place"] = _form_set(normalise(name, limit=None) for name in canonical_places())
    return kinds


def _texts(value: Any) -> Iterable[str]:
    """Every text an entry holds (its names, titles, keywords, questions and answers in every language),
    leaving out ids and sources."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in {"id", "source", "related", "venue", "tags"}:
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


class _Vocabulary:
    """The words of one knowledge base: per entry the words that name it (titles, names, aliases,
    keywords, the questions it answers), and all the words it holds (what the knowledge speaks of)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.names: dict[str, frozenset[str]] = {}
        self.told: dict[str, frozenset[str]] = {}
        self.titles: dict[str, frozenset[str]] = {}
        """Per entry (but FAQs), the words of its title in every language ("opening ceremony")."""
        known: set[str] = set(frozenset().union(*_kinds_forms().values()))
        naming: set[str] = set()
        for entry in kb.entries():
            fields = entry.model_dump()
            self.names[entry.id] = _form_set(_texts({k: v for k, v in fields.items() if k not in _TELLING}))
            self.told[entry.id] = _form_set(_texts(fields))
            known |= self.told[entry.id]
            if isinstance(entry, Session | Venue):
                aliases = (
                    [a for lg in LANGS for a in entry.aliases.get(lg)] if isinstance(entry, Venue) else []
                )
                naming |= _form_set([*(entry_title(entry, lg) for lg in LANGS), *aliases])
            if not isinstance(entry, FaqEntry):  # an FAQ's title is one of its questions
                self.titles[entry.id] = _form_set(entry_title(entry, lg) for lg in LANGS)
        self.known = frozenset(known)
        self.naming = frozenset(naming)
        """The words of the names of things the knowledge has by name: sessions' titles, venues' names
        and aliases (not the descriptive titles of facts, "Participation: guests and countries")."""
        self.event_id = kb.event.id

    def holds(self, entry_id: str, forms: tuple[str, ...]) -> bool:
        """Whether an entry holds a word as an aspect of its own: its names, or its text where the word
        names no session or venue ("占地" in a venue's description: its site area; the countries
        exhibitors came from)."""
        if any(f in self.names.get(entry_id, ()) for f in forms):
            return True
        told = self.told.get(entry_id, frozenset())
        return forms[0] in told and forms[0] not in self.naming


_VOCABULARIES: dict[str, _Vocabulary] = {}


def _vocabulary(kb: KnowledgeBase) -> _Vocabulary:
    key = kb.content_hash or str(id(kb))
    if key not in _VOCABULARIES:
        if len(_VOCABULARIES) > 4:  # a reloaded knowledge base replaces older ones
            _VOCABULARIES.clear()
        _VOCABULARIES[key] = _Vocabulary(kb)
    return _VOCABULARIES[key]


@cache
def aspect_words() -> dict[Lang, frozenset[str]]:
    """Per language, the words that ask about an aspect or point back without naming anything
    (``aspects`` and ``pointers``). Built once; callers only read it."""
    data = _data()
    return {lang: frozenset(data["aspects"][lang]) | frozenset(data["pointers"][lang]) for lang in LANGS}


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


@cache
def _english_function_words() -> frozenset[str]:
    from index.textproc import _STOPWORDS_EN  # the tokeniser's own list

    return frozenset(_STOPWORDS_EN) | {"from", "to", "about", "what", "how"}


@dataclass(frozen=True)
class FollowUp:
    """How a follow-up question is read: the text to search and whether it names a new topic."""

    query: str
    new_topic: bool


@dataclass(frozen=True)
class _Named:
    """What the content words of a turn name, against the chat's topic."""

    new: tuple[str, ...]
    """Words the topic does not hold (neither its entry nor the question that led to it)."""
    things: tuple[str, ...]
    """Of those, the ones the knowledge base speaks of (another entry's thing, a place, a way of
    travelling, a day)."""
    kinds: frozenset[str]
    """The swapped kinds (place, transport, day) the new words are of."""


def _is_aspect(forms: tuple[str, ...], aspects: frozenset[str]) -> bool:
    """Whether a word (its forms) asks about an aspect: an aspect word, or a compound of them
    ("ใช้เวลานาน", "วันที่")."""
    return forms[0] in aspects or (len(forms) > 1 and all(p in aspects for p in forms[1:]))


def _named(core: str, topic: Topic, vocabulary: _Vocabulary) -> _Named:
    asked = _form_set([topic.question])
    held = vocabulary.names.get(topic.entry_id, frozenset()) | asked
    event_title = frozenset()
    if topic.entry_id != vocabulary.event_id:  # naming the event itself ("the summit") leaves the topic
        event_title = vocabulary.titles[vocabulary.event_id]
        asked -= vocabulary.names[vocabulary.event_id]
        held -= vocabulary.names[vocabulary.event_id]
    skip = _aspect_forms()
    kinds = _kinds_forms()
    new, things, named_kinds = [], [], set()
    for forms in _forms(core):
        word = forms[0]
        if word.isdigit() or _is_aspect(forms, skip):
            continue  # a value ("2000"), an aspect, or a compound of aspects ("ใช้เวลานาน")
        of_kind = {name for name, words in kinds.items() if word in words}
        if any(f in (asked if of_kind else held) for f in forms):
            continue  # the topic holds it (a place, a way of travelling or a day only when it was asked)
        if not of_kind and word not in event_title and vocabulary.holds(topic.entry_id, forms):
            continue  # an aspect its entry tells of (a venue's "占地")
        new.append(word)
        named_kinds |= of_kind
        if of_kind or any(f in vocabulary.known for f in forms):
            things.append(word)
    return _Named(tuple(new), tuple(things), frozenset(named_kinds))


def read_followup(question: str, lang: Lang, topic: Topic, kb: KnowledgeBase) -> FollowUp | None:
    """The search text for ``question`` read together with ``topic``, or None when it stands alone.

    What the turn names decides: nothing new (only an aspect, a pointer, or words the topic itself
    holds) keeps the topic's thing and asks the new aspect of it; a thing the knowledge speaks of
    without an aspect of its own ("and the closing?", "上海呢") takes the place of the topic's thing in
    the question that led to it; a new thing with its own question ("and the closing, where?") or
    something the knowledge never speaks of ("and the wifi password?") is read on its own.
    """
    entry = kb.by_id.get(topic.entry_id)
    if entry is None:
        return None
    text = _after_small_talk(expand_shorthand(normalise(question)).strip(_EDGE_PUNCTUATION), lang)
    if not text:
        return None
    core, opened = _strip_opening(text, lang)
    core, ended = _strip_ending(core, lang)
    pointed = _points_back(text, lang)  # before the opening: "那个" points back, "那" only continues
    vocabulary = _vocabulary(kb)
    named = _named(core, topic, vocabulary)
    if len(named.new) > int(_data()["max_new_words"]) or len(named.things) < len(named.new):
        return None  # a long new question, or one about something the knowledge never speaks of
    # A pointer before the new words points at the topic ("那个forum的theme"); one after them points at
    # what the turn has just named ("and the closing, where is it held?").
    pointed_first = pointed and _pointer_first(text, lang, named.new)
    if not named.new or (pointed_first and not named.kinds):
        if not (opened or ended or pointed or _forms(core)):
            return None
        return FollowUp(f"{_subject(topic, entry, lang, vocabulary)} {core}".strip(), new_topic=False)
    if not (opened or ended or pointed):
        return None  # names something new, and nothing ties it to the topic: a question of its own
    if not (ended or pointed_first) and _asks(core):
        return None  # "and the closing, where (is it)?": a new thing with its own question
    return FollowUp(f"{core} {_residue(topic, named, vocabulary)}".strip(), new_topic=True)


def _pointer_first(text: str, lang: Lang, new: tuple[str, ...]) -> bool:
    """Whether a pointer of ``text`` comes before the first of its ``new`` words."""
    pointers = _data()["pointers"][lang]
    if lang == "en":
        found = [m.start() for m in _LATIN_WORD.finditer(text) if m.group() in pointers]
    else:
        found = [text.find(p) for p in pointers if p in text]
    firsts = [
        at for surface, forms in _surface_forms(text) if forms[0] in new and (at := text.find(surface)) >= 0
    ]
    return bool(found) and (not firsts or min(found) < min(firsts))


def _after_small_talk(text: str, lang: Lang) -> str:
    """``text`` without the thanks or greeting it opens with ("thanks! and who spoke?", "ok how much is
    it", "好的谢谢，那几点开始"): what follows it, with its opening word when one follows ("and who
    spoke?", not "who spoke?" with "and" taken for filler)."""
    rests = [expand_shorthand(rest) for rest in after_small_talk(text)]
    return next((rest for rest in rests if _strip_opening(rest, lang)[1]), rests[0] if rests else text)


def _asks(core: str) -> bool:
    """Whether ``core`` has a question word of its own ("when", "谁", "กี่")."""
    return any(f in QUESTION_WORDS for forms in _forms(core) for f in forms)


def _subject(topic: Topic, entry: Entry, lang: Lang, vocabulary: _Vocabulary) -> str:
    """What the topic is about, without what was asked of it: a session's, venue's, route's or fact's
    name, else the words of the question that led to it that the knowledge speaks of ("where is the
    summit held" leaves "summit"), else those of the entry's title (an FAQ's title is a question too)."""
    title = entry_title(entry, lang)
    if isinstance(entry, Session | Venue | Route | Fact):
        return title
    return _things(topic.question, vocabulary) or _things(title, vocabulary) or title


def _things(text: str, vocabulary: _Vocabulary) -> str:
    """The words of ``text`` the knowledge speaks of, without aspects, pointers and values."""
    skip = _aspect_forms()
    words = [
        forms[0]
        for forms in _forms(text)
        if forms[0] not in skip and not forms[0].isdigit() and any(f in vocabulary.known for f in forms)
    ]
    return _join(words)


def _join(words: list[str]) -> str:
    """Words joined as written: a space only next to a Latin word or a number."""
    text = ""
    for word in words:
        text += " " + word if text and (word[0].isascii() or text[-1].isascii()) else word
    return text


def _residue(topic: Topic, named: _Named, vocabulary: _Vocabulary) -> str:
    """The previous question without what the follow-up replaces in it.

    Words of the kinds the follow-up names go ("and from Shanghai?" drops the places, "打车呢？" the
    ways of travelling); when it names another thing ("what about the closing?"), the words the topic's
    entry holds go too, except question words and aspects not part of its title ("opening" of the
    opening ceremony goes, "วันที่" stays). What was asked stays: "How do I get to
    Wuzhen from Hangzhou?" then "and from Shanghai?" leaves "how do i get to from".
    """
    previous = normalise(topic.question).strip(_EDGE_PUNCTUATION)
    kinds = _kinds_forms()
    dropped = set().union(*(kinds[k] for k in named.kinds)) if named.kinds else set()
    aspects = _aspect_forms()
    title: frozenset[str] = frozenset()
    if any(not any(word in kinds[k] for k in _SWAPPED_KINDS) for word in named.things):
        dropped |= vocabulary.names.get(topic.entry_id, frozenset()) - QUESTION_WORDS
        title = vocabulary.titles.get(topic.entry_id, frozenset()) - QUESTION_WORDS
    drop = {
        surface
        for surface, forms in _surface_forms(previous)
        if forms[0] in title or (any(f in dropped for f in forms) and not _is_aspect(forms, aspects))
    }
    for word in sorted(drop, key=len, reverse=True):
        if word.isascii():  # a number or a Latin word: whole words only
            previous = re.sub(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])", " ", previous)
        else:
            previous = previous.replace(word, " ")
    return " ".join(previous.split())


def _surface_forms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The words of ``text`` as written, each with its forms (see :func:`_forms`)."""
    found = []
    for run in re.findall(r"[0-9a-z]+|[^\s0-9a-z]+", text):
        if run.isascii():
            found += [(run, forms) for forms in _forms(run)]
        else:
            found += [(forms[0], forms) for forms in _forms(run)]
    return found


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
