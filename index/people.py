"""Finding the people and organisations a question names, and the entries that mention them.

Everyone the knowledge names as a session speaker or in an entry's ``people`` is a person here, with
their name in English, Chinese and Thai and any aliases ("IBM's CEO"). A person is linked to every
entry whose text mentions one of their names, in any language, so "what does Ren Xianliang do" finds
the leadership fact, the plenary he presided over and the closing press conference.

A name is found in a question

* in Latin letters: as whole words, allowing one typo per five letters (Damerau-Levenshtein);
* in Chinese characters: exactly, or as a run of characters with the same pinyin in which at least
  half the characters are the name's own ("任先良" for 任贤良: a homophone typed by a pinyin input
  method); readings come from the ``pypinyin`` package's character table, of which only the characters
  sounding like a name character are kept;
* in Thai: with spaces ignored, allowing small spelling differences (``fuzz.partial_ratio``), since
  one foreign name has several Thai transliterations.
"""

from __future__ import annotations

import marshal
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from index.composer import entry_text
from index.derived import Derived, file_digest
from index.knowledge import KnowledgeBase
from index.language import HAN_SCRIPT, THAI_SCRIPT
from index.schema import Session, Speaker
from index.textproc import QUERY_LIMIT, normalise
from index.types import LANGS

LATIN_MIN_SIMILARITY = 0.8
THAI_MIN_SCORE = 85.0
THAI_MIN_LENGTH = 5
ROLE_WORDS_ALONE = 3
"""A role's title of this many words ("executive deputy secretary-general") names someone without
their organisation; a shorter one ("CEO") needs it ("GSMA's CEO")."""
_ROLE_NOTE = re.compile(r"\s*[(（][^)）]*[)）]")
"""A note in brackets after a role ("(presiding)", "（视频致辞）"): not part of what people call it."""
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b")
_ROLE_STOPWORDS = frozenset({"of", "the", "and", "for", "a", "an", "s"})
"""Thai names shorter than this (spaces removed) must occur exactly."""

_LATIN_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+")
_NAME_DOT = re.compile(r"[·・•‧]")
_SPACE_OR_MARK = re.compile(r"[\s·・.\-'’]+")


@dataclass(frozen=True)
class Person:
    key: str
    """The English name: one person however many entries name them."""
    latin: tuple[tuple[str, ...], ...]
    """Latin forms as word tuples (lower case)."""
    han: tuple[str, ...]
    thai: tuple[str, ...]
    aliases: frozenset[str] = frozenset()
    """The forms (as in ``latin`` joined by spaces, ``han`` and ``thai``) that come only from aliases:
    another way to name the person ("WIPO", "IBM's CEO"), not the name itself."""
    roles: tuple[Role, ...] = ()
    """The roles the knowledge gives the person ("ITU Deputy Secretary-General", "GSMA首席执行官")."""


@dataclass(frozen=True)
class Role:
    """A role as a question may name it: its title words in Latin letters ("deputy", "secretary",
    "general") and the organisation's ("itu"), or in Chinese or Thai its title without the
    organisation ("副秘书长") and the whole role ("国际电信联盟副秘书长")."""

    title: frozenset[str] = frozenset()
    organisation: frozenset[str] = frozenset()
    title_text: str = ""
    whole: str = ""

    def named_in(self, words: set[str], compact: str, by_alias: bool) -> bool:
        """Whether a question (its Latin ``words``, its text without spaces) names this role: all the
        title's words, with the organisation (or the person's organisation named by an alias) unless
        the title alone is long enough to tell (three words); in Chinese or Thai, the whole role, or
        its title next to the organisation named by an alias."""
        if self.title:
            if not self.title <= words:
                return False
            return bool(self.organisation & words) or by_alias or len(self.title) >= ROLE_WORDS_ALONE
        if self.whole and self.whole in compact:
            return True
        return bool(self.title_text) and by_alias and self.title_text in compact


def _toneless(reading: str) -> str:
    text = unicodedata.normalize("NFD", reading)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).replace("ü", "v")


@cache
def _pinyin_table_path() -> Path | None:
    spec = find_spec("pypinyin")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).with_name("pinyin_dict.json")
    return path if path.exists() else None


_TABLE_ROW = re.compile(r'"(\d+)": "([^"]+)"')


def homophones(characters: Iterable[str], cache: Path | None = None) -> dict[str, frozenset[str]]:
    """Toneless pinyin readings of every character that sounds like one of ``characters``.

    The table (about 42,000 characters) is scanned as text, row by row, and only the characters sharing
    a reading with ``characters`` are kept, so neither the table nor the result takes much memory. The
    result is kept in ``cache`` (see :mod:`index.derived`) for the next start with the same names."""
    path = _pinyin_table_path()
    if path is None:
        return {}
    characters = "".join(sorted(set(characters)))
    kept = Derived("homophones", ("homophones", file_digest(path), characters), marshal.dumps, marshal.loads)
    return kept.get(cache, lambda: _homophones(path, characters))


@cache
def _homophones(path: Path, characters: str) -> dict[str, frozenset[str]]:
    text = path.read_text(encoding="utf-8")
    codes = {str(ord(ch)) for ch in characters}
    wanted: set[str] = set()
    for row in _TABLE_ROW.finditer(text):
        if row.group(1) in codes:
            wanted.update(_toneless(r) for r in row.group(2).split(","))
    found: dict[str, frozenset[str]] = {}
    for row in _TABLE_ROW.finditer(text):
        readings = frozenset(_toneless(r) for r in row.group(2).split(","))
        if readings & wanted:
            found[chr(int(row.group(1)))] = readings
    return found


def _forms(speaker: Speaker) -> Iterator[tuple[str, bool]]:
    """Each way the knowledge names ``speaker``, and whether it is an alias."""
    for lang in LANGS:
        yield speaker.name.get(lang), False
        for alias in speaker.aliases.get(lang):
            yield alias, True


def _person(speaker: Speaker) -> Person:
    latin, han, thai = set(), set(), set()
    named: set[str] = set()
    aliases: set[str] = set()
    for form, alias in _forms(speaker):
        before = {*han, *thai, *(" ".join(w) for w in latin)}
        clean = normalise(form, None)
        if HAN_SCRIPT.search(clean):
            han.add(_SPACE_OR_MARK.sub("", clean))
            # A Western name in Chinese is often written by its family name alone (弗朗西斯·高锐: 高锐).
            family = _NAME_DOT.split(clean)[-1].strip()
            if family != clean and len(family) >= 2:
                han.add(family)
        elif THAI_SCRIPT.search(clean):
            thai.add(_SPACE_OR_MARK.sub("", clean))
        words = tuple(_LATIN_WORD.findall(clean))
        if words and not HAN_SCRIPT.search(clean) and not THAI_SCRIPT.search(clean):
            latin.add(words)
        added = {*han, *thai, *(" ".join(w) for w in latin)} - before
        (aliases if alias else named).update(added)
    return Person(
        speaker.name.en,
        tuple(sorted(latin)),
        tuple(sorted(han)),
        tuple(sorted(thai)),
        frozenset(aliases - named),
        _roles(speaker),
    )


_ROLE_JOIN = re.compile(r"\s*[,，、;；]\s*|\s+and\s+|\s+และ")
"""Where a role held together with another ends ("WIC Vice-Chair, former WIPO Director General",
"CAC director and WIC Chair"): each is a way to name the person on its own."""


def _roles(speaker: Speaker) -> tuple[Role, ...]:
    """The roles of ``speaker`` in each language, as :class:`Role` (none without a role); a role
    listing several ("CAC director and WIC Chair") gives each of them."""
    if speaker.role is None:
        return ()
    found = []
    alias_forms = [normalise(a, None) for lang in LANGS for a in speaker.aliases.get(lang)]
    written_roles = [
        (lang, part)
        for lang in LANGS
        for part in _ROLE_JOIN.split(_ROLE_NOTE.sub("", speaker.role.get(lang)).strip(' “”"'))
        if part
    ]
    for lang, written in written_roles:
        clean = normalise(written, None)
        if lang == "en":
            named = {w for form in alias_forms for w in _LATIN_WORD.findall(form)}
            organisation = named | {w.casefold() for w in _ACRONYM.findall(written)}
            words = set(_LATIN_WORD.findall(clean.replace("-", " "))) - _ROLE_STOPWORDS
            # An acronym is taken for the organisation ("WIC Executive ..."), unless it is all the
            # title there is ("GSMA CEO", GSMA being the person's alias).
            title = frozenset(words - organisation) or frozenset(words - named)
            organisation &= words - title
            if title:
                found.append(Role(title=title, organisation=frozenset(organisation)))
            continue
        whole = _SPACE_OR_MARK.sub("", clean)
        title_text = whole
        for form in sorted(alias_forms, key=len, reverse=True):
            title_text = title_text.replace(_SPACE_OR_MARK.sub("", form), "")
        if len(whole) >= 2 and (HAN_SCRIPT.search(whole) or THAI_SCRIPT.search(whole)):
            # (A role written only in Latin letters in Chinese or Thai, "ITU", names an organisation.)
            found.append(Role(title_text=title_text if title_text != whole else "", whole=whole))
    return tuple(found)


class PeopleIndex:
    """The people the knowledge names, and which entries mention each of them."""

    def __init__(self, kb: KnowledgeBase, cache: Path | None = None) -> None:
        """``cache``: a directory to keep what is derived from the dictionaries in (:mod:`index.derived`)."""
        speakers: dict[str, list[Speaker]] = defaultdict(list)
        declared: dict[str, set[str]] = defaultdict(set)
        for entry in kb.entries():
            listed = [*(entry.speakers if isinstance(entry, Session) else ()), *entry.people]
            for speaker in listed:
                speakers[speaker.name.en].append(speaker)
                declared[speaker.name.en].add(entry.id)
        people = []
        for key, found in speakers.items():
            merged = [_person(s) for s in found]
            latin = {f for p in merged for f in p.latin}
            han = {f for p in merged for f in p.han}
            thai = {f for p in merged for f in p.thai}
            alias_forms = set().union(*(p.aliases for p in merged))
            name_forms = {
                form
                for p in merged
                for form in {*p.han, *p.thai, *(" ".join(w) for w in p.latin)} - p.aliases
            }
            roles = tuple(dict.fromkeys(role for p in merged for role in p.roles))
            people.append(
                Person(
                    key,
                    tuple(sorted(latin)),
                    tuple(sorted(han)),
                    tuple(sorted(thai)),
                    frozenset(alias_forms - name_forms),
                    roles,
                )
            )
        self.people = sorted(people, key=lambda p: p.key)
        texts = {
            entry.id: [_SPACE_OR_MARK.sub("", normalise(entry_text(entry, kb, lang), None)) for lang in LANGS]
            for entry in kb.entries()
        }
        self._han_text = "\n".join(versions[1] for versions in texts.values())
        """The knowledge's Chinese text: a name it contains is not unknown."""
        self._han_names = _han_person_names(cache)  # read once now, not while a question waits
        self.entries: dict[str, frozenset[str]] = {}
        """Entries that name each person in any way, aliases included ("WIPO")."""
        self.named_entries: dict[str, frozenset[str]] = {}
        """Entries that name each person by their name, or list them."""
        for person in self.people:
            forms = [
                *person.han,
                *person.thai,
                *(" ".join(words) for words in person.latin if len(words) > 1),
            ]
            mentioned: dict[str, set[str]] = {}
            for form in forms:
                compact = form.replace(" ", "")
                mentioned[form] = {e for e, versions in texts.items() if any(compact in t for t in versions)}
            everything = set().union(*mentioned.values()) if mentioned else set()
            by_name = set().union(*(found for form, found in mentioned.items() if form not in person.aliases))
            self.entries[person.key] = frozenset(everything | declared[person.key])
            self.named_entries[person.key] = frozenset(by_name | declared[person.key])
        self._readings = homophones((ch for p in self.people for name in p.han for ch in name), cache)
        self._han = [(name, i) for i, p in enumerate(self.people) for name in p.han]
        self._han_chars = [frozenset(name) for name, _ in self._han]
        self._thai_names = [name for p in self.people for name in p.thai]
        self._thai_ids = [i for i, p in enumerate(self.people) for _ in p.thai]
        self._latin_names = [" ".join(f) for p in self.people for f in p.latin]
        self._latin_ids = [i for i, p in enumerate(self.people) for _ in p.latin]
        self._latin_prefixes: dict[str, set[int]] = defaultdict(set)
        for column, name in enumerate(self._latin_names):
            for word in name.split():
                self._latin_prefixes[word[:3]].add(column)
        """A name is compared with the question only when one of its words starts like a question word."""
        self._role_keys: dict[str, set[int]] = defaultdict(set)
        """The people who may be named by a role, by what a question naming the role must hold: a word
        of its Latin title, or a character of its Chinese or Thai form (whole or title alone): the first
        that is not ASCII, since many forms start with an organisation's Latin acronym."""
        for who, person in enumerate(self.people):
            for role in person.roles:
                if role.title:
                    self._role_keys[min(role.title)].add(who)
                for form in (role.whole, role.title_text):
                    if form:
                        self._role_keys[next((ch for ch in form if not ch.isascii()), form[0])].add(who)
        self._last_found: tuple[str, dict[int, bool]] | None = None

    def _reading(self, ch: str) -> frozenset[str]:
        return self._readings.get(ch, frozenset())

    def _sounds_like(self, name: str, text: str) -> bool:
        """A run of ``text`` with the pinyin of ``name`` and at least half of its characters."""
        n = len(name)
        if n < 2:
            return False
        for start in range(len(text) - n + 1):
            window = text[start : start + n]
            same = sum(a == b for a, b in zip(window, name, strict=True))
            if same * 2 < n or same == n:
                continue
            if all(a == b or self._reading(a) & self._reading(b) for a, b in zip(window, name, strict=True)):
                return True
        return False

    def find(self, question: str) -> list[str]:
        """The people ``question`` names (their keys)."""
        return [self.people[i].key for i in sorted(self._found(question))]

    def _found(self, question: str) -> dict[int, bool]:
        """The people ``question`` names (by position), each with whether it names them by their own
        name rather than only by an alias ("WIPO's Daren Tang" and "anyone from WIPO"). Kept for the
        question being read, which asks this more than once; callers do not change the result."""
        last = self._last_found
        if last is None or last[0] != question:
            last = self._last_found = (question, self._find_all(question))
        return last[1]

    def _find_all(self, question: str) -> dict[int, bool]:
        text = normalise(question, QUERY_LIMIT)
        compact = _SPACE_OR_MARK.sub("", text)
        found: dict[int, bool] = {}

        def add(who: int, form: str) -> None:
            found[who] = found.get(who, False) or form not in self.people[who].aliases

        if HAN_SCRIPT.search(compact):
            chars = set(compact)
            for (name, who), name_chars in zip(self._han, self._han_chars, strict=True):
                if found.get(who) or chars.isdisjoint(name_chars):
                    continue
                if name in compact or self._sounds_like(name, compact):
                    add(who, name)
        if THAI_SCRIPT.search(compact):
            hits = process.extract(
                compact, self._thai_names, scorer=fuzz.partial_ratio, score_cutoff=THAI_MIN_SCORE, limit=None
            )
            for name, _, position in hits:
                if len(name) >= THAI_MIN_LENGTH or name in compact:
                    add(self._thai_ids[position], name)
        words = _LATIN_WORD.findall(text)
        candidates = {c for w in words for c in self._latin_prefixes.get(w[:3], ())}
        for column in candidates:
            name = self._latin_names[column]
            n = name.count(" ") + 1
            windows = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
            if name in windows:
                add(self._latin_ids[column], name)
            elif len(name) >= 5 and min(map(len, name.split())) >= 3:
                best = process.extractOne(name, windows, scorer=DamerauLevenshtein.normalized_similarity)
                if best is not None and best[1] >= LATIN_MIN_SIMILARITY:
                    add(self._latin_ids[column], name)
        by_role = self._by_role(set(words), compact, found)
        for who in by_role:
            found[who] = True
        if by_role:
            # An organisation named only as part of the role ("GSMA" in "GSMA's CEO") is not asked about.
            organisations = {w for who in by_role for r in self.people[who].roles for w in r.organisation}
            for other in [who for who in found if who not in by_role]:
                person = self.people[other]
                if any(set(words) <= organisations for words in person.latin):
                    del found[other]
        return found

    def _by_role(self, words: set[str], compact: str, found: dict[int, bool]) -> list[int]:
        """The people a question names by their role ("the GSMA CEO", "国际电联副秘书长", "exec deputy sec
        gen"): named that way, a person counts as named by their name. Of two people whose roles both
        match, the one whose role the question names in more words is meant ("executive deputy
        secretary-general" is not the deputy secretary-general)."""
        matched: dict[int, int] = {}
        keys = self._role_keys
        for who in sorted({who for key in (*words, *set(compact)) for who in keys.get(key, ())}):
            person, by_alias = self.people[who], who in found
            for role in person.roles:
                if role.named_in(words, compact, by_alias):
                    size = len(role.title) or len(role.whole)
                    matched[who] = max(matched.get(who, 0), size)
        most = max(matched.values(), default=0)
        return [who for who, size in matched.items() if size == most]

    def unknown_han_names(self, question: str) -> list[str]:
        """People's names in a Chinese question that the knowledge never writes ("马斯克来乌镇了吗")."""
        text = _SPACE_OR_MARK.sub("", normalise(question, QUERY_LIMIT))
        if not HAN_SCRIPT.search(text):
            return []
        names = self._han_names
        found = {
            text[i : i + size]
            for size in HanNames.SIZES
            for i in names.starts(text, size)
            if text[i : i + size] not in self._han_text
            and _HAN_TAKES_PART.match(text, i + size)  # the dictionary also tags words like 多少钱
        }
        return sorted(found)

    def entries_for(self, question: str) -> dict[str, int]:
        """Entries mentioning someone the question names, with how many of the named people each one
        mentions."""
        counts: dict[str, int] = defaultdict(int)
        for who, by_name in self._found(question).items():
            key = self.people[who].key
            # Named by their own name, the person's entries are those naming them; named only through
            # an organisation ("anyone from WIPO?"), every entry naming the organisation counts too.
            for entry_id in (self.named_entries if by_name else self.entries)[key]:
                counts[entry_id] += 1
        return dict(sorted(counts.items()))  # the same order whatever the hash seed


_CAPITALISED_PAIR = re.compile(
    r"(?=(?<![\w'’-])([A-Z][a-z]+(?:[-'’][A-Za-z][a-z]+)?)\s+([A-Z][a-z]+(?:[-'’][A-Za-z][a-z]+)?)(?![\w'’-]))"
)
"""Two capitalised Latin words in a row ("Sam Altman", "Jack Ma"): how a name is written in a question.
Pairs overlap, so a capitalised first word of the sentence ("Did Sam Altman...") does not hide one."""
DISTINCT_NAME = 5
"""Letters from which one unknown word of a capitalised pair is taken for a name on its own."""


_HAN_TAKES_PART = re.compile(r".{0,6}?(来|出席|参加|参会|讲|发言|演讲|致辞|到场|露面|出现|现身|是谁|去了)")
"""A Chinese name followed by what the person did at the event ("马斯克今年来乌镇了吗")."""
_LOWER_PAIR = re.compile(
    r"\b(?:did|does|do|will|would|has|had|is|was|were)\s+([a-z]{3,})\s+([a-z]{3,})\s+"
    r"(?:speak|spoke|speaking|talk|talked|attend|attended|come|came|coming|visit|visited|present|"
    r"presented|give|gave|show|showed|turn|turned|go|went|make|made|appear|appeared|there|at|in)\b"
)
"""A pair of words between "did" and what the person did ("did elon musk speak at wuzhen?"): a name
written without capitals."""


def unknown_names(question: str, is_known: Callable[[str], bool]) -> list[str]:
    """Capitalised pairs of Latin words in ``question`` whose words are unknown (``is_known`` is False
    for the lower-case word): a person the knowledge never mentions ("did Sam Altman speak?"). A pair
    of unknown words between "did" and what the person did counts as well, capitals or not.
    Words the knowledge uses ("Robin", "Summit", "Xizha"), stopwords and question words never count, so
    a known name, a title or a misspelt knowledge word is not taken for an unknown person."""
    text = question[:QUERY_LIMIT]
    found = []
    for match in _CAPITALISED_PAIR.finditer(text):
        unknown = [w for w in (w.casefold() for w in match.groups()) if not is_known(w)]
        # Both words unknown, or one long enough to be a name of its own ("Jensen Huang": the knowledge
        # has a Huang, but no Jensen); a short unknown word may be a misspelling ("Robin Lee").
        if len(unknown) == 2 or any(len(w) >= DISTINCT_NAME for w in unknown):
            found.append(" ".join(match.groups()))
    if not found:
        for match in _LOWER_PAIR.finditer(text.casefold()):
            if not any(is_known(w) for w in match.groups()):
                found.append(" ".join(match.groups()))
    return found


class HanNames:
    """Chinese people's names of three and four characters (the lengths a question is searched for), as
    sorted arrays of fixed-width strings: 1 MB, where a set of the 72,000 names costs about 25 MB."""

    SIZES = (4, 3)

    def __init__(self, names: Iterable[str]) -> None:
        by_size: dict[int, list[str]] = {size: [] for size in self.SIZES}
        for name in names:
            if len(name) in by_size:
                by_size[len(name)].append(name)
        self._by_size = {size: np.array(sorted(found), dtype=f"<U{size}") for size, found in by_size.items()}

    def dump(self) -> bytes:
        return marshal.dumps({size: known.tobytes() for size, known in self._by_size.items()})

    @classmethod
    def load(cls, data: bytes) -> HanNames:
        names = cls(())
        arrays = marshal.loads(data).items()
        names._by_size = {size: np.frombuffer(raw, dtype=f"<U{size}") for size, raw in arrays}
        return names

    def starts(self, text: str, size: int) -> list[int]:
        """The positions in ``text`` where a name of ``size`` characters starts."""
        known = self._by_size[size]
        if len(text) < size or not len(known):
            return []
        windows = np.array([text[i : i + size] for i in range(len(text) - size + 1)], dtype=known.dtype)
        at = np.searchsorted(known, windows).clip(max=len(known) - 1)
        return np.flatnonzero(known[at] == windows).tolist()


def _han_person_names(cache: Path | None = None) -> HanNames:
    """Chinese words of three or four characters that jieba's dictionary tags as people's names
    (马斯克, 马化腾): how an unknown person is recognised in a Chinese question. Kept in ``cache`` (see
    :mod:`index.derived`)."""
    spec = find_spec("jieba")
    if spec is None or spec.origin is None:
        return HanNames(())
    dictionary = Path(spec.origin).with_name("dict.txt")
    kept = Derived("han-names", ("han-names", file_digest(dictionary)), HanNames.dump, HanNames.load)
    return kept.get(cache, lambda: _read_han_person_names(dictionary))


@cache
def _read_han_person_names(dictionary: Path) -> HanNames:
    with open(dictionary, encoding="utf-8") as rows:
        return HanNames(_tagged_names(rows))


def _tagged_names(rows: Iterable[str]) -> Iterator[str]:
    for row in rows:  # word, frequency, part of speech
        parts = row.split()
        if len(parts) == 3 and parts[2] in ("nr", "nrfg", "nrt"):
            yield parts[0]
