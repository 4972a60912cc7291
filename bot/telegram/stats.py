"""/stats, /unanswered and /feedback: for the people listed in ADMIN_IDS or ORGANISER_IDS.

The commands are registered for those ids in a private chat only (``filters.User``); in a group they
only get a note to ask in a private chat (:mod:`bot.telegram.private`: figures are never posted to a
group), and anyone else gets a short refusal.
The figures come from :class:`bot.services.insights.InsightsService`.
"""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.telegram.common import reply_html, send_photo
from bot.telegram.context import BotContext

EXAMPLE_CHARS = 160
"""Longer example questions are cut in the lists."""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


async def stats(update: Update, context: BotContext) -> None:
    """Usage figures and a chart of questions per day by language with the share answered."""
    lang = context.user_lang
    svc = context.services
    figures = await svc.insights.stats()
    totals = figures.totals
    languages = ", ".join(f"{code} {n}" for code, n in figures.users_by_language.items()) or "—"
    text = svc.texts(
        lang,
        "stats",
        users=totals.users,
        languages=languages,
        subscribers=totals.subscribers,
        blocked=totals.blocked,
        questions=totals.questions,
        answered=totals.answered,
        share=round(figures.answered_share * 100),
        days=len(figures.days),
        recent=sum(sum(counts) for counts in figures.questions_per_day.values()),
        recent_answered=sum(figures.answered_per_day),
        up=totals.up,
        down=totals.down,
    )
    message = update.effective_message
    await reply_html(context.sender, message, text)
    chart = await svc.insights.chart(figures)
    await send_photo(
        context.sender, message.chat_id, chart, svc.texts(lang, "admin.chart_caption", days=len(figures.days))
    )


async def unanswered(update: Update, context: BotContext) -> None:
    """Recent questions the bot could not answer, grouped, largest groups first."""
    lang = context.user_lang
    svc = context.services
    groups, total = await svc.insights.unanswered()
    days = svc.insights.config.unanswered_days
    if not groups:
        await reply_html(
            context.sender, update.effective_message, svc.texts(lang, "admin.unanswered_none", days=days)
        )
        return
    lines = [svc.texts(lang, "admin.unanswered_title", days=days, total=total, groups=len(groups))]
    for number, group in enumerate(groups, 1):
        languages = ", ".join(f"{code} {n}" for code, n in group.languages.items())
        lines.append(
            svc.texts(
                lang,
                "admin.unanswered_group",
                number=number,
                count=group.count,
                languages=languages,
                example=_short(group.example),
            )
        )
    await reply_html(context.sender, update.effective_message, "\n".join(lines))


async def disliked(update: Update, context: BotContext) -> None:
    """/feedback: answers voted 👎, with their questions and the entries they came from."""
    lang = context.user_lang
    svc = context.services
    found = await svc.insights.disliked(lang)
    if not found:
        await reply_html(context.sender, update.effective_message, svc.texts(lang, "admin.feedback_none"))
        return
    lines = [svc.texts(lang, "admin.feedback_title")]
    for view in found:
        item = view.question
        lines.append(
            svc.texts(
                lang,
                "admin.feedback_item",
                question=_short(item.text),
                language=item.language,
                down=item.down,
                up=item.up,
                sources=", ".join(view.titles) or html.unescape(svc.texts(lang, "admin.no_sources")),
            )
        )
    await reply_html(context.sender, update.effective_message, "\n".join(lines))


async def denied(update: Update, context: BotContext) -> None:
    lang = context.user_lang
    await reply_html(context.sender, update.effective_message, context.services.texts(lang, "stats_denied"))


COMMANDS = ("stats", "unanswered", "feedback")


def handlers(staff: filters.BaseFilter) -> list[BaseHandler]:
    """``staff``: organisers and admins in a private chat (:class:`bot.telegram.private.Staff`)."""
    return [
        CommandHandler("stats", stats, filters=staff),
        CommandHandler("unanswered", unanswered, filters=staff),
        CommandHandler("feedback", disliked, filters=staff),
        CommandHandler(list(COMMANDS), denied),
    ]
