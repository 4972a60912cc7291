"""Reading a question once: everything the later steps need to know about it, in one :class:`Reading`.

A question is read by a :class:`Reader` (one per engine: it holds the spelling corrector, the people
index and the event's dates). The reading keeps the question as written, its language and the text that
is searched (spelling corrected, a follow-up completed with its topic, event days written as dates, the
event's own year left out), and derives, each at most once and only when a step asks for it: the clauses
that ask and those that only tell, the focused question clause of a long message, the kinds of thing
asked, the ends of the event asked about, the years asked about, the people and organisations named,
the places named, and what a price is asked of. Retrieval, fusion, the decision and every rule
(:mod:`index.rules`) take the reading instead of deriving these facts from the text again.

The text helpers (:func:`clauses`, :func:`question_clause`, :func:`years_in`, ...) live here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING

from index.belief import Belief, read_belief
from index.composer import entry_title
from index.event_names import event_names
from index.followup import aspect_words, read_followup
from index.kinds import (
    asked_kinds,
    poles,
    price_subjects,
    relative_years,
    uncovered_kinds,
    without_this_year,
)
from index.language import HAN_SCRIPT, detect_language
from index.mixing import Glossary
from index.numerals import canonical_places, event_days
from index.people import unknown_names
from index.schema import FaqEntry, Route, Venue
from index.smalltalk import after_small_talk
from index.textproc import QUERY_LIMIT, QUESTION_WORDS, normalise, terms
from index.types import LANGS, Lang

if TYPE_CHECKING:
    from collections.abc import Sequence

    from index.answers import Topic
    from index.knowledge import KnowledgeBase
    from index.people import PeopleIndex
    from index.spelling import SpellFixer


def question_form(text: str) -> str:
    """How a question is put to the embedder: normalised, without closing punctuation.

    Casing and a trailing "?" move multilingual sentence embeddings more than the difference between
    two questions does, so user questions and FAQ phrasings are embedded in this one form.
    """
    return normalise(text).strip(" ?？!！。.")


_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d|25\d\d)(?!\d)")
_BUDDHIST_ERA_OFFSET = 543


_YEAR_SPAN = re.compile(
    r"(?<!\d)(?:19|20|25)\d\d\s*年?\s*(?:-|–|—|~|to|until|through|ถึง|至|到)\s*(?:19|20|25)\d\d(?!\d)"
)


def years_in(text: str, spans: bool = True) -> set[int]:
    """Calendar years written in ``text``; Thai Buddhist-era years (25xx) are converted (2566 -> 2023).
    With ``spans=False`` the years that only bound a span ("2014–2022", "2014 ถึง 2022") are left out."""
    if not spans:
        text = _YEAR_SPAN.sub(" ", text)
    years = {int(y) for y in _YEAR.findall(text)}
    return {y - _BUDDHIST_ERA_OFFSET if y >= 2500 else y for y in years}


def without_year(text: str, year: int) -> str:
    """``text`` without the event's own year (also as a Thai Buddhist-era year): every entry is about
    that year, so naming it says nothing about which one is meant, while the one entry that happens to
    spell it out ("2023 was the 10th year") would be pulled ahead. Other years are kept."""
    stripped = _year_pattern(year).sub(" ", text)
    return " ".join(stripped.split()) if has_content(stripped) else text


@cache
def _year_pattern(year: int) -> re.Pattern[str]:
    """The event's own year as :func:`without_year` removes it, compiled once."""
    return re.compile(rf"(?:ปี|พ\.ศ\.|ค\.ศ\.)?\s*(?<!\d)(?:{year}|{year + _BUDDHIST_ERA_OFFSET})(?!\d)\s*年?")


_SENTENCE_END = re.compile(r"(?<=[?？!！。])|(?<=\.)\s|\n")
_QUESTION_MARK = re.compile(r"[?？]")
FOCUS_MIN_CHARS = 80
"""Messages at least this long (in characters) get their question clause weighted (see ask_many)."""


def question_clause(text: str) -> str | None:
    """The question of a long message made of several sentences: the last sentence with a question
    mark, else the last sentence. None for a short or one-sentence message, unless a phrase that
    introduces the question ("想问", "I was wondering", "อยากทราบว่า") follows a clause that only tells:
    "my train home leaves on friday, I was wondering when it closes" asks when the event closes."""
    if (
        len(text) + len(HAN_SCRIPT.findall(text)) < FOCUS_MIN_CHARS
    ):  # a Chinese character says about two letters' worth
        return _introduced_question(text)
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) >= 2:
        asking = [s for s in sentences if _QUESTION_MARK.search(s)]
        return (asking or sentences)[-1]
    # One run-on sentence (Thai has no full stops): from its first asking clause to its last, when
    # clauses that only tell come before them ("my boss asked me to book the trip, how many days is
    # it"; "อยากรู้ว่างานปิดวันไหน จะได้จองตั๋วกลับ": the booking is only the reason).
    parts = clauses(text)
    asking = [i for i, (_, asks) in enumerate(parts) if asks]
    if not asking or asking[0] == 0:
        return None
    return " ".join(clause for clause, _ in parts[asking[0] : asking[-1] + 1])


def _introduced_question(text: str) -> str | None:
    """The clauses from an introduced question on, when clauses that only tell come before it."""
    parts = clauses(text)
    for i, (clause, asks) in enumerate(parts):
        if asks:
            if i and _INTRO.match(clause):
                return " ".join(c for c, _ in parts[i:])
            return None
    return None


_INTRO_LATIN = (
    r"(?:i'?d like to know|i would like to know|i want to know|i was wondering|can you tell me"
    r"|could you tell me)"
)
_INTRO_OTHER = r"(?:想问|请问|想知道|想了解|想确认|อยากทราบ|อยากรู้|ขอทราบ|ขอถาม|สอบถาม|รบกวนถาม|สนใจว่า)"
_CLAUSE_BREAK = re.compile(
    r"([?？]+)|[,，、;；.。!！\n]+|\s+(?:so|and|because|but|then|as)\s+|所以|因为|然后|好让|以便|จะได้|เพราะ|แล้วก็"
    # A phrase that introduces the question ("I'd like to know", "想问", "อยากทราบว่า") starts a clause.
    rf"|(?=\b{_INTRO_LATIN}\b)|(?={_INTRO_OTHER})"
)
_ASKING = re.compile(
    r"^(is|are|can|could|do|does|did|will|would|should|may|how|what|when|where|which|who|whom|whose|why)\b"
    r"|[吗吗呢么嘛]$|几|哪|什么|啥|怎么|怎样|如何|多少|是否|有没有|能不能|可不可以"
    r"|ไหม|มั้ย|มั๊ย|หรือเปล่า|หรือยัง|ไหน|อะไร|ยังไง|อย่างไร|กี่|เท่าไ[หร]|ใคร|เมื่อไ[หร]|ได้บ้าง|บ้าง"
    rf"|^{_INTRO_LATIN}\b|^{_INTRO_OTHER}"
)
_INTRO = re.compile(rf"{_INTRO_LATIN}\b|{_INTRO_OTHER}")
_THAI_END = re.compile(r"(ไหม|มั้ย|มั๊ย|หรือเปล่า|ไหน|อะไร|ยังไง|อย่างไร|บ้าง|ครับ|คะ|ค่ะ|นะ|เท่าไ[หร]่?)$")


def clauses(text: str) -> list[tuple[str, bool]]:
    """The clauses of a message, each with whether it asks something (a question mark, a question word
    or particle) or only tells ("I need to book my flight"). Clauses end at punctuation and linking
    words ("so", "所以", "จะได้"); in Thai, where spaces end phrases, at a space after a question word or
    polite particle."""
    pieces = _CLAUSE_BREAK.split(normalise(text))
    found: list[tuple[str, bool]] = []
    for piece in pieces:
        if piece is None or not piece.strip():
            continue
        if piece.strip()[0] in "?？":
            if found:
                found[-1] = (found[-1][0], True)
            continue
        found.append((piece.strip(), False))
    if detect_language(text, "en") == "th":
        merged: list[tuple[str, bool]] = []
        for clause, asked in found:
            words: list[str] = []
            for word in clause.split(" "):
                words.append(word)
                if _THAI_END.search(word):
                    merged.append((" ".join(words), False))
                    words = []
            if words:
                merged.append((" ".join(words), False))
            if asked and merged:
                merged[-1] = (merged[-1][0], True)
        found = merged
    return [(c, asked or bool(_ASKING.search(c))) for c, asked in found] or [(text, True)]


def asking_clauses(text: str) -> list[str]:
    """The clauses of ``text`` that ask something, or all of them when none does (see :func:`clauses`)."""
    parts = clauses(text)
    return [clause for clause, asks in parts if asks] or [clause for clause, _ in parts]


def has_content(text: str) -> bool:
    """True when the text has at least one letter (a bare number or emoji is not a question)."""
    return any(ch.isalpha() for ch in text)


@dataclass(frozen=True)
class Reading:
    """One question, read once. ``text`` is what is searched; every other fact is derived on first use
    and kept."""

    question: str
    """The question as written."""
    lang: Lang
    text: str
    """What is searched: the question (or a follow-up completed with its chat's topic), spelling
    corrected, event days written as dates, without the event's own year."""
    reader: Reader = field(repr=False, compare=False)
    belief: Belief | None = None
    """What a yes/no question checking a belief asserts ("it ends on the 9th, right?"); ``text`` is then
    the question behind it ("it ends on which day, right?"; see :mod:`index.belief`)."""

    @cached_property
    def corrected(self) -> str:
        """The question as written, spelling corrected (not completed with a follow-up's topic)."""
        return self.reader.spelling.correct(self.question[:QUERY_LIMIT])

    @cached_property
    def searchable(self) -> bool:
        """Whether there is anything to search (a bare number or emoji is not a question)."""
        return has_content(normalise(self.text))

    @cached_property
    def embedded(self) -> str:
        """The form of ``text`` given to the embedder."""
        return question_form(self.text)

    @cached_property
    def focus(self) -> str | None:
        """The question clause of a long message (see :func:`question_clause`)."""
        return question_clause(self.text)

    @cached_property
    def clauses(self) -> tuple[tuple[str, bool], ...]:
        """The clauses of ``text``, each with whether it asks (see :func:`clauses`)."""
        return tuple(clauses(self.text))

    @cached_property
    def asking(self) -> tuple[str, ...]:
        """The clauses that ask, or all of them when none does."""
        parts = self.clauses
        return tuple(c for c, asks in parts if asks) or tuple(c for c, _ in parts)

    @cached_property
    def telling(self) -> tuple[str, ...]:
        """The clauses that only tell (a reason, a story before the question)."""
        return tuple(c for c, asks in self.clauses if not asks)

    @cached_property
    def kinds(self) -> frozenset[str]:
        """The kinds of thing the asking clauses ask for (a date, a place, a price...; see ``asked`` in
        ``kinds.yaml``): a clause that only tells ("I booked my ticket home") asks no price."""
        return frozenset().union(*(asked_kinds(clause, self.lang) for clause in self.asking))

    @cached_property
    def poles(self) -> frozenset[str]:
        """Which ends of the event (``start``, ``end``) the question speaks of."""
        return poles(self.text, self.lang)

    @cached_property
    def years(self) -> frozenset[int]:
        """The years the asking clauses name: written ones and ones relative to the event's ("next
        year", "去年", "ปีหน้า"). The event's own year is left out of ``text``."""
        asking = " ".join(self.asking)
        return frozenset(years_in(asking) | relative_years(asking, self.lang, self.reader.year))

    @cached_property
    def other_years(self) -> frozenset[int]:
        """The years asked about that are not the event's."""
        return self.years - self.reader.known_years

    @cached_property
    def uncovered(self) -> frozenset[str]:
        """Kinds of thing named that no entry normally states (a booking, a fee to attend...)."""
        return uncovered_kinds(self.text, self.lang)

    @cached_property
    def uncovered_asked(self) -> frozenset[str]:
        """Of those, the ones an asking clause names ("when does it start? I need to book my flight"
        asks no booking)."""
        return frozenset().union(*(uncovered_kinds(c, self.lang) for c in self.asking))

    @cached_property
    def events(self) -> tuple[str, ...]:
        """The names of events or forums the question speaks of ("Boao Forum", "算力网络论坛"; see
        :mod:`index.event_names`)."""
        return event_names(self.text)

    @cached_property
    def priced(self) -> frozenset[str]:
        """What an asking clause of the question as written asks the price of (a hotel, a taxi); empty
        when no clause asks a price. A clause asking only "how much a night?" asks it of what the
        message named before ("hotels near the venue, recommend one; how much a night?")."""
        text, lang = self.corrected, self.lang
        if "price" not in asked_kinds(text, lang) or not price_subjects(text, lang):
            return frozenset()
        asking = asking_clauses(text)
        if not any("price" in asked_kinds(clause, lang) for clause in asking):
            return frozenset()
        return frozenset().union(*(price_subjects(clause, lang) for clause in asking)) or price_subjects(
            text, lang
        )

    @cached_property
    def people(self) -> dict[str, int]:
        """Entries mentioning someone (a person, an organisation) the question names, with how many of
        the named people each mentions."""
        return self.reader.people.entries_for(self.text)

    @cached_property
    def strangers(self) -> tuple[str, ...]:
        """People's names in the question that the knowledge never mentions ("did Sam Altman speak?")."""
        reader = self.reader
        found = unknown_names(self.question, reader.spelling.knows) or reader.people.unknown_han_names(
            self.question
        )
        return tuple(found)

    @cached_property
    def places(self) -> frozenset[str]:
        """The knowledge's places the question names, in the knowledge's spelling."""
        text = normalise(self.text)
        return frozenset(place for place in self.reader.places if place in text)


def _aliases(entry: object, lang: Lang) -> list[str]:
    return list(entry.aliases.get(lang)) if isinstance(entry, Venue) else []


UNNAMED_WORDS = 1
"""A question that names nothing may still use this many words the knowledge names nothing with
("it wraps up on which day"); with more it asks about something of its own."""


class Reader:
    """Reads questions for one knowledge base (see :class:`Reading`)."""

    def __init__(self, kb: KnowledgeBase, spelling: SpellFixer, people: PeopleIndex) -> None:
        self.kb = kb
        self.spelling = spelling
        self.people = people
        event = kb.event
        self.start, self.end = event.start_date, event.end_date
        self.year = event.start_date.year
        self.known_years = frozenset({event.start_date.year, event.end_date.year})
        self.glossary = Glossary(kb)
        self._places: tuple[str, ...] | None = None

    @property
    def places(self) -> tuple[str, ...]:
        if self._places is None:
            self._places = tuple(normalise(p, limit=None) for p in canonical_places())
        return self._places

    def language(self, question: str, fallback: Lang = "en") -> Lang:
        return detect_language(question[:QUERY_LIMIT], fallback)

    def read(
        self,
        question: str,
        lang: Lang,
        searched: str | None = None,
        *,
        in_topic: bool = False,
        belief: Belief | None = None,
    ) -> Reading:
        """Read ``question`` in ``lang``; ``searched`` is the text to search when it differs from the
        question (a follow-up completed with its topic, whose ``belief`` was read before); ``in_topic``:
        the chat has a recent topic, so a question naming nothing is not taken to be about the event
        itself."""
        text = self._prepared(question if searched is None else searched, lang)
        if searched is None:
            belief, behind = read_belief(text, lang, self.places, followup=in_topic)
            text = behind if belief else text
            if not in_topic:
                text = self.about_event(text, lang)
        text = without_this_year(without_year(event_days(text, lang, self.start, self.end), self.year), lang)
        return Reading(question, lang, text, self, belief)

    def _prepared(self, text: str, lang: Lang) -> str:
        """``text`` spelling corrected and normalised, names of another script written in ``lang``."""
        return self.glossary.in_language(normalise(self.spelling.correct(text[:QUERY_LIMIT])), lang)

    @cached_property
    def naming_words(self) -> dict[str, frozenset[str]]:
        """The words the knowledge names things with, per language: the words of entries' titles,
        names and aliases, without question words and the words that ask about an aspect or point
        back (``aspects`` and ``pointers`` in ``followup.yaml``), and under ``all`` those of every
        language. A question using none of them names nothing."""
        found: dict[Lang, set[str]] = {lang: set() for lang in LANGS}
        for entry in self.kb.entries():
            for lang in LANGS:
                forms = _aliases(entry, lang)
                if not isinstance(entry, FaqEntry | Route):
                    forms.append(entry_title(entry, lang))
                for form in forms:
                    found[lang].update(t.word for t in terms(form, lang, limit=None))
        generic = aspect_words()
        naming = {lang: frozenset(words - QUESTION_WORDS - generic[lang]) for lang, words in found.items()}
        # A code-mixed question names things in every language it uses ("summit จัดวันไหน").
        return {**naming, "all": frozenset().union(*naming.values())}

    @cached_property
    def event_word(self) -> dict[Lang, str]:
        """What the event is called, in one word: the first word of its short name without its place and
        year ("summit", "峰会", "การประชุม")."""
        words = {}
        for lang in LANGS:
            name = normalise(self.kb.event.short_name.get(lang), limit=None)
            for place in sorted(self.places, key=len, reverse=True):
                name = name.replace(place, " ")
            found = terms(_YEAR.sub(" ", name), lang, limit=None)
            word, parts = (found[0].word, found[0].parts) if found else ("", ())
            # A compound keeps its head, which Thai puts first: "การประชุมสุดยอด" -> "การประชุม".
            if len(parts) > 1 and word.endswith(parts[-1]):
                word = word[: -len(parts[-1])]
            words[lang] = word
        return words

    def about_event(self, text: str, lang: Lang) -> str:
        """A question that asks only about an aspect and names nothing ("where's it at?", "在哪开啊",
        "how long is it", "it wraps up on which day") is about the event itself, when no chat topic
        says otherwise: it is searched with what the event is called. A question naming a person, a
        place or anything the knowledge's titles, names and keywords name is searched as it is."""
        if not asked_kinds(text, lang) or self.people.find(text):
            return text
        if any(place in text for place in self.places):
            return text
        naming, generic = self.naming_words["all"], aspect_words()[lang]
        words = [t for t in terms(text, lang) if t.word not in QUESTION_WORDS and t.word not in generic]
        if any(t.word in naming or naming.intersection(t.parts) for t in words):
            return text
        if len(words) > UNNAMED_WORDS:
            return text  # "ทำบัตรหายต้องติดต่อที่ไหน": it names something, though not in the knowledge's words
        return f"{self.event_word[lang]} {text}"

    def read_many(
        self,
        questions: Sequence[str],
        fallback: Lang = "en",
        topics: Sequence[Topic | None] | None = None,
    ) -> list[Reading]:
        """Read each question in its language (``fallback`` when its letters do not tell); a follow-up
        is completed with its chat's topic (``topics``, one per question; see :mod:`index.followup`)."""
        readings = []
        for i, question in enumerate(questions):
            lang = self.language(question, fallback)
            topic = topics[i] if topics else None
            if topic is None:
                readings.append(self.read(question, lang))
                continue
            # A belief checked in a follow-up ("so it ends on the 11th?") is read first: the question
            # behind it ("so it ends on which day") is what is completed with the topic.
            belief, behind = read_belief(self._prepared(question, lang), lang, self.places, followup=True)
            asked = behind if belief else question
            followup = read_followup(asked, lang, topic, self.kb)
            if followup is not None:
                searched: str | None = followup.query
            else:  # a question of its own, without the thanks it may open with ("ok thanks, who ...")
                searched = next(iter(after_small_talk(asked)), behind if belief else None)
            readings.append(self.read(question, lang, searched, in_topic=True, belief=belief))
        return readings

    def read_as_written(self, question: str, lang: Lang) -> Reading:
        """A reading whose searched text is the question as written, spelling corrected (how a rule is
        checked against one entry, outside the pipeline)."""
        reading = Reading(question, lang, "", self)
        return Reading(question, lang, reading.corrected, self)
