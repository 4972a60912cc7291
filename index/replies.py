"""What the user receives for a question, as an :class:`~index.answers.Answer`: an entry's text, a "Did
you mean …?" with the closest topics, a polite decline with nearby topics, a known gap, or a small-talk
reply. Each entry's text is composed once per language (:mod:`index.composer`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from index.answers import Answer, Suggestion
from index.belief import verdict
from index.composer import NameGlosses, answer_text, belief_reply, clarify_text, decline_text, entry_title
from index.decision import Decision
from index.knowledge import KnowledgeBase
from index.reading import Reading
from index.smalltalk import small_talk
from index.types import LANGS, Lang


class Replies:
    """Composes the replies of one knowledge base. Safe to share between threads."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.glosses = NameGlosses(kb)
        self.texts = {
            (entry.id, lg): answer_text(entry, kb, lg, self.glosses) for entry in kb.entries() for lg in LANGS
        }
        """Each entry's answer text per language (names glossed in Latin letters in Thai)."""

    def entry_answer(self, entry_id: str, lang: Lang) -> str:
        """The answer text of one entry in ``lang`` (what a suggestion button or a card shows)."""
        found = self.texts.get((entry_id, lang))
        return (
            found if found is not None else answer_text(self.kb.by_id[entry_id], self.kb, lang, self.glosses)
        )

    def small_talk(self, questions: Sequence[str], fallback: Lang) -> dict[int, Answer]:
        """Replies to the questions that are small talk ("hi", "谢谢", "คุณเป็นใคร"), by position."""
        replies: dict[int, Answer] = {}
        for i, question in enumerate(questions):
            found = small_talk(question, fallback)
            if found is not None:
                replies[i] = Answer(
                    question, found.language, False, found.reply, [], 0.0, reason="small talk",
                    outcome="smalltalk",
                )  # fmt: skip
        return replies

    def decline(
        self,
        question: str,
        lang: Lang,
        near: Sequence[str] = (),
        score: float = 0.0,
        reason: str = "",
        *,
        empty: bool = False,
    ) -> Answer:
        """A polite decline listing what the assistant can help with, offering the ``near`` entries."""
        suggestions = [Suggestion(e, entry_title(self.kb.by_id[e], lang)) for e in near]
        text = decline_text(lang, empty=empty)
        return Answer(
            question, lang, False, text, [], round(score, 4), suggestions, reason or "no question",
            outcome="decline",
        )  # fmt: skip

    def compose(self, reading: Reading, top: str, decision: Decision, near: Sequence[str]) -> Answer:
        """The reply for ``decision`` on the best entry ``top``; ``near`` are the topics a clarification
        or a decline offers. A yes/no question checking a belief is answered yes or no (with the true
        date when the belief was about a day) before the entry's text."""
        question, lang = reading.question, reading.lang
        score = round(decision.score, 4)
        evidence = {"best": top, "signals": decision.signals, "rule": decision.rule}
        if decision.verdict in ("answer", "gap"):
            answered = decision.verdict == "answer"
            text = self.entry_answer(top, lang)
            if answered and reading.belief:
                holds, true_day = verdict(reading.belief, self.kb.by_id[top], self.kb, reading.poles)
                text = belief_reply(text, holds, true_day, lang)
            return Answer(
                question, lang, answered, text, [top], score,
                reason=decision.reason, outcome=decision.verdict, **evidence,
            )  # fmt: skip
        declined = replace(self.decline(question, lang, near, score, decision.reason), **evidence)
        if decision.verdict == "clarify" and declined.suggestions:
            text = clarify_text([s.title for s in declined.suggestions], lang)
            return replace(declined, text=text, outcome="clarify")
        return declined
