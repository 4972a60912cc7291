"""👍/👎 on answers: stored per question and user (a second press replaces the first)."""

from __future__ import annotations

from bot.storage.database import Database


class FeedbackService:
    """Records whether an answer helped, from the person who asked only."""

    def __init__(self, db: Database) -> None:
        self._questions = db.questions
        self._feedback = db.feedback

    async def rate(self, question_id: int, user_id: int, helpful: bool) -> bool:
        """Store the rating; False when the question is unknown (e.g. purged) or not ``user_id``'s."""
        question = await self._questions.get_question(question_id)
        if question is None or question.user_id != user_id:
            return False
        return await self._feedback.record_feedback(question_id, user_id, helpful)
