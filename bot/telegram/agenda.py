"""/agenda: days as buttons, then a day's sessions, then a session card, each with a back button;
the personal agenda: ⭐ on every session card, /myagenda, its calendar file, /reminders.

Browsing edits the one agenda message in place. Callback data (:mod:`bot.telegram.callbacks`):
:class:`AgendaDay` with an empty day (the days) or a day (its sessions), :class:`Session` (a card); the
personal agenda's buttons are kinds of the same module. Reminders are queued by a job that runs every
:data:`TICK_SECONDS`. With PUBLIC_URL set, /agenda and /myagenda in a private chat also carry the button that
opens the programme Mini App (:mod:`bot.telegram.miniapp`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import Services
from bot.services.agenda import REMINDER_CHOICES
from bot.telegram.callbacks import (
    AgendaDay,
    CalendarFile,
    CallbackData,
    RemindBefore,
    RemindersMenu,
    Session,
    Star,
    Unstar,
    fits,
    parse,
)
from bot.telegram.common import (
    answer_button,
    edit_html,
    edit_markup,
    keyboard,
    reply_html,
    send_document,
    send_html,
)
from bot.telegram.context import BotContext
from bot.telegram.formatting import escape
from bot.telegram.miniapp import with_button
from index.engine import Answer
from index.types import Lang

log = logging.getLogger(__name__)

View = tuple[str, InlineKeyboardMarkup | None]

DAYS_PER_ROW = 2


def _data(item: CallbackData) -> str | None:
    """The button's data, or None (no button) when a key is too long for Telegram's 64 bytes."""
    return item.encode() if fits(item) else None


def days_view(svc: Services, lang: Lang) -> View:
    days = [(item.label, _data(AgendaDay(item.key))) for item in svc.catalogue.days(lang)]
    if not days and not svc.catalogue.has_undated:
        return svc.texts(lang, "agenda_empty"), None
    rows = [days[i : i + DAYS_PER_ROW] for i in range(0, len(days), DAYS_PER_ROW)]
    if svc.catalogue.has_undated:
        rows.append([(svc.texts(lang, "agenda_undated"), _data(AgendaDay(svc.catalogue.UNDATED)))])
    return svc.texts(lang, "agenda_days"), keyboard(rows)


def day_view(svc: Services, key: str, lang: Lang) -> View | None:
    sessions = svc.catalogue.sessions(key, lang)
    if sessions is None:
        return None
    label = svc.catalogue.day_label(key, lang) or svc.texts(lang, "agenda_undated")
    rows = [[(item.label, _data(Session(item.key)))] for item in sessions]
    rows.append([(svc.texts(lang, "back"), _data(AgendaDay("")))])
    return svc.texts(lang, "agenda_day", day=label), keyboard(rows)


async def session_view(svc: Services, session_id: str, lang: Lang, user_id: int | None) -> View | None:
    card = svc.catalogue.entry(session_id, lang)
    day = svc.catalogue.session_day(session_id)
    if card is None or day is None:
        return None
    rows = await star_rows(svc, user_id, [session_id], lang)
    return escape(card), keyboard([*rows, [(svc.texts(lang, "back"), _data(AgendaDay(day)))]])


async def agenda(update: Update, context: BotContext) -> None:
    """/agenda: the days with sessions."""
    lang = context.user_lang
    svc = context.services
    text, markup = days_view(svc, lang)
    markup = with_button(markup, svc.settings, lang, update.effective_chat)
    await reply_html(context.sender, update.effective_message, text, markup)


async def browse(update: Update, context: BotContext) -> None:
    """An agenda button: show the days, a day's sessions or a session card in the same message."""
    query = update.callback_query
    lang = context.user_lang
    svc = context.services
    pressed = parse(query.data)
    if isinstance(pressed, Session):
        user_id = update.effective_user.id if update.effective_user else None
        view = await session_view(svc, pressed.key, lang, user_id)
    elif isinstance(pressed, AgendaDay) and pressed.day:
        view = day_view(svc, pressed.day, lang)
    elif isinstance(pressed, AgendaDay):
        text, markup = days_view(svc, lang)
        view = text, with_button(markup, svc.settings, lang, update.effective_chat)
    else:
        view = None
    await answer_button(query, None if view else svc.texts(lang, "entry_unknown"))
    if view is None or query.message is None:
        return
    text, markup = view
    await edit_html(context.sender, query.message.chat.id, query.message.message_id, text, markup)


# --------------------------------------------------------------------- ⭐ on session cards


def star_button(svc: Services, lang: Lang, session_id: str, starred: bool) -> tuple[str, str | None]:
    """The ⭐ button of a session card: it adds the session, or removes it when already bookmarked."""
    star = Star(session_id, not starred)
    label = svc.texts(lang, "myagenda.star_remove" if starred else "myagenda.star_add")
    return label, star.encode() if fits(star) else None


async def star_rows(
    svc: Services, user_id: int | None, entry_ids: Sequence[str], lang: Lang
) -> list[list[tuple[str, str | None]]]:
    """One ⭐ row for each session among ``entry_ids`` (other entries get none)."""
    sessions = [e for e in entry_ids if svc.agenda.session(e) is not None]
    if not sessions or user_id is None:
        return []
    starred = await svc.agenda.bookmarked(user_id, sessions)
    return [[star_button(svc, lang, e, e in starred)] for e in sessions]


async def star_markup(
    svc: Services, user_id: int | None, entry_id: str, lang: Lang, markup: InlineKeyboardMarkup | None = None
) -> InlineKeyboardMarkup | None:
    """``markup`` with a ⭐ row first when ``entry_id`` is a session (for topic buttons and answers)."""
    rows = await star_rows(svc, user_id, [entry_id], lang)
    if not rows:
        return markup
    star = keyboard(rows)
    if star is None:
        return markup
    return InlineKeyboardMarkup([*star.inline_keyboard, *(markup.inline_keyboard if markup else ())])


async def star_answer(
    svc: Services, user_id: int, answer: Answer, markup: InlineKeyboardMarkup | None
) -> InlineKeyboardMarkup | None:
    """An answer about a session gets the session's ⭐ above its other buttons."""
    if not answer.answered or not answer.sources:
        return markup
    return await star_markup(svc, user_id, answer.sources[0], answer.language, markup)


def _restarred(
    markup: InlineKeyboardMarkup, session_id: str, button: tuple[str, str | None]
) -> InlineKeyboardMarkup:
    """The same keyboard with the ⭐ button of ``session_id`` replaced by ``button``."""
    label, data = button
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for old in row:
            star = Star.parse(old.callback_data if isinstance(old.callback_data, str) else None)
            if star is not None and star.session_id == session_id and data is not None:
                new_row.append(InlineKeyboardButton(label, callback_data=data))
            else:
                new_row.append(old)
        rows.append(new_row)
    return InlineKeyboardMarkup(rows)


async def toggle_star(update: Update, context: BotContext) -> None:
    """⭐ tapped: add or remove the session, then show the button's new state on the same card."""
    query = update.callback_query
    star = Star.parse(query.data)
    lang = context.user_lang
    svc = context.services
    if star is None or update.effective_user is None:
        await answer_button(query)
        return
    state = await svc.agenda.set_bookmark(update.effective_user.id, star.session_id, star.on)
    if state is None:
        await answer_button(query, svc.texts(lang, "entry_unknown"))
        return
    await answer_button(query, svc.texts(lang, "myagenda.added" if state else "myagenda.unstarred"))
    message = query.message
    if message is not None and message.reply_markup is not None:
        markup = _restarred(
            message.reply_markup, star.session_id, star_button(svc, lang, star.session_id, state)
        )
        await edit_markup(context.sender, message.chat.id, message.message_id, markup)


# --------------------------------------------------------------------- /myagenda

MAX_REMOVE_BUTTONS = 50
"""Remove buttons under /myagenda at most (a long agenda is trimmed from the last session)."""


def label(text: str) -> str:
    """An interface text as a button label: buttons show plain text, so escaped values are unescaped."""
    return html.unescape(text)


def _setting(svc: Services, lang: Lang, minutes: int) -> str:
    return (
        svc.texts(lang, "myagenda.minutes", minutes=minutes)
        if minutes
        else svc.texts(lang, "myagenda.setting_off")
    )


async def my_agenda_view(svc: Services, user_id: int, lang: Lang) -> View:
    view = await svc.agenda.my_agenda(user_id, lang)
    rows: list[list[tuple[str, str | None]]] = []
    for line in view.sessions[:MAX_REMOVE_BUTTONS]:
        remove = Unstar(line.session_id)
        rows.append(
            [
                (
                    label(svc.texts(lang, "myagenda.remove_button", title=line.title)),
                    remove.encode() if fits(remove) else None,
                )
            ]
        )
    minutes = await svc.agenda.reminder_minutes(user_id)
    tools = [
        (
            label(svc.texts(lang, "myagenda.reminders_button", setting=_setting(svc, lang, minutes))),
            RemindersMenu().encode(),
        )
    ]
    if view.sessions:
        tools.insert(0, (svc.texts(lang, "myagenda.ics_button"), CalendarFile().encode()))
    rows.append(tools)
    text = view.text
    if view.sessions and svc.settings.public_url:
        text += "\n\n" + svc.texts(lang, "schedule.feed_hint")
    return text, keyboard(rows)


async def my_agenda(update: Update, context: BotContext) -> None:
    """/myagenda: the user's bookmarks by day and time, with remove buttons, the calendar file, reminders."""
    user = update.effective_user
    if user is None or update.effective_message is None:
        return
    lang = context.user_lang
    svc = context.services
    text, markup = await my_agenda_view(svc, user.id, lang)
    markup = with_button(markup, svc.settings, lang, update.effective_chat)
    await reply_html(context.sender, update.effective_message, text, markup)


async def unstar(update: Update, context: BotContext) -> None:
    """A remove button in /myagenda: remove the session and show the list again in the same message."""
    query = update.callback_query
    target = Unstar.parse(query.data)
    lang = context.user_lang
    svc = context.services
    user = update.effective_user
    if target is None or user is None:
        await answer_button(query)
        return
    await svc.agenda.unbookmark(user.id, target.session_id)
    await answer_button(query, svc.texts(lang, "myagenda.unstarred"))
    if query.message is not None:
        text, markup = await my_agenda_view(svc, user.id, lang)
        markup = with_button(markup, svc.settings, lang, update.effective_chat)
        await edit_html(context.sender, query.message.chat.id, query.message.message_id, text, markup)


async def calendar_file(update: Update, context: BotContext) -> None:
    """The .ics button: send the user's agenda as a calendar file."""
    query = update.callback_query
    lang = context.user_lang
    svc = context.services
    user = update.effective_user
    if user is None or query.message is None:
        await answer_button(query)
        return
    made = await svc.agenda.calendar(user.id, lang)
    if not made.events:
        await answer_button(query, svc.texts(lang, "myagenda.ics_empty"), show_alert=True)
        return
    await answer_button(query)
    caption = svc.texts(lang, "myagenda.ics_caption")
    if made.left_out:
        caption += "\n" + svc.texts(lang, "myagenda.ics_left_out", count=made.left_out)
    name = f"{svc.agenda.kb.event.id}-agenda.ics"
    await send_document(context.sender, query.message.chat.id, name, made.content, caption)


# --------------------------------------------------------------------- /reminders


async def reminders_view(svc: Services, user_id: int, lang: Lang, intro: str | None = None) -> View:
    minutes = await svc.agenda.reminder_minutes(user_id)
    title = svc.texts(lang, "myagenda.reminders_title", setting=_setting(svc, lang, minutes))
    choices = [
        (
            ("✓ " if m == minutes else "") + svc.texts(lang, "myagenda.minutes", minutes=m),
            RemindBefore(m).encode(),
        )
        for m in REMINDER_CHOICES
    ]
    off = (("✓ " if minutes == 0 else "") + svc.texts(lang, "myagenda.off_button"), RemindBefore(0).encode())
    text = f"{intro}\n\n{title}" if intro else title
    return text, keyboard([choices[:2], choices[2:], [off]])


def _minutes_argument(args: Sequence[str]) -> int | None:
    """``/reminders off`` → 0, ``/reminders 30`` → 30; None when absent or not one of the choices."""
    if not args:
        return None
    word = args[0].lower().removesuffix("min")
    if word in ("off", "0", "关", "关闭", "ปิด"):
        return 0
    return int(word) if word.isdigit() and int(word) in REMINDER_CHOICES else None


def _confirmation(svc: Services, lang: Lang, minutes: int) -> str:
    if minutes:
        return svc.texts(lang, "myagenda.reminders_set", minutes=minutes)
    return svc.texts(lang, "myagenda.reminders_off")


async def reminders(update: Update, context: BotContext) -> None:
    """/reminders: the reminder choices; ``/reminders off`` or ``/reminders 30`` sets one at once."""
    user = update.effective_user
    if user is None or update.effective_message is None:
        return
    lang = context.user_lang
    svc = context.services
    chosen = _minutes_argument(context.args or [])
    intro = None
    if chosen is not None:
        await svc.agenda.set_reminder_minutes(user.id, chosen)
        intro = _confirmation(svc, lang, chosen)
    text, markup = await reminders_view(svc, user.id, lang, intro)
    await reply_html(context.sender, update.effective_message, text, markup)


async def reminders_menu(update: Update, context: BotContext) -> None:
    """/myagenda's reminders button: the choices, as a new message."""
    query = update.callback_query
    lang = context.user_lang
    await answer_button(query)
    if update.effective_user is None or query.message is None:
        return
    text, markup = await reminders_view(context.services, update.effective_user.id, lang)
    await send_html(context.sender, query.message.chat.id, text, markup)


async def remind_before(update: Update, context: BotContext) -> None:
    """A reminder choice: store it and show it ticked in the same message."""
    query = update.callback_query
    choice = RemindBefore.parse(query.data)
    lang = context.user_lang
    svc = context.services
    user = update.effective_user
    if choice is None or user is None or (choice.minutes and choice.minutes not in REMINDER_CHOICES):
        await answer_button(query)
        return
    await svc.agenda.set_reminder_minutes(user.id, choice.minutes)
    confirmation = _confirmation(svc, lang, choice.minutes)
    await answer_button(query)
    if query.message is not None:
        text, markup = await reminders_view(svc, user.id, lang, confirmation)
        await edit_html(context.sender, query.message.chat.id, query.message.message_id, text, markup)


# --------------------------------------------------------------------- reminder job

TICK_SECONDS = 20.0
"""How often due reminders are looked for (the database says which are due; this only wakes up)."""


async def _tick(context: BotContext) -> None:
    try:
        await context.services.agenda.tick()
    except Exception:
        log.exception("queuing due reminders failed; trying again in %.0f s", TICK_SECONDS)


def start_reminders(application: Application) -> None:
    """Look for due reminders every :data:`TICK_SECONDS` from now on (and once right away)."""
    if application.job_queue is None:
        raise RuntimeError("the job queue is needed for reminders (python-telegram-bot[job-queue])")
    application.job_queue.run_repeating(_tick, interval=TICK_SECONDS, first=0.1, name="agenda-reminders")


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("agenda", agenda),
        CallbackQueryHandler(browse, pattern=AgendaDay.pattern()),
        CallbackQueryHandler(browse, pattern=Session.pattern()),
        CommandHandler("myagenda", my_agenda),
        CommandHandler("reminders", reminders),
        CallbackQueryHandler(toggle_star, pattern=Star.pattern()),
        CallbackQueryHandler(unstar, pattern=Unstar.pattern()),
        CallbackQueryHandler(calendar_file, pattern=CalendarFile.pattern()),
        CallbackQueryHandler(reminders_menu, pattern=RemindersMenu.pattern()),
        CallbackQueryHandler(remind_before, pattern=RemindBefore.pattern()),
    ]
