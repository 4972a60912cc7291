"""The seams of docs/architecture.md, checked over the source tree (with ``ast``, nothing imported):

- SQL and ``aiosqlite``/``sqlite3`` only in ``bot/storage/``;
- Bot API sends and edits only in the sender and its helpers;
- no import cycle between modules, counting imports under ``TYPE_CHECKING`` and inside functions;
- no import from a lower layer to a higher one (the order in docs/architecture.md, "Layers").
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "index")

SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|TRIGGER)"
    r"|DROP\s+(TABLE|INDEX|TRIGGER)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)\b",
    re.DOTALL,
)
"""Statements as this code base writes them: keywords in capitals."""
DATABASE_MODULES = {"sqlite3", "aiosqlite"}

BOT_API_CALLS = {
    "send_message",
    "send_photo",
    "send_document",
    "send_media_group",
    "send_chat_action",
    "copy_message",
    "forward_message",
    "edit_message_text",
    "edit_message_reply_markup",
    "edit_message_caption",
    "edit_text",
    "edit_reply_markup",
    "edit_caption",
    "delete_message",
    "delete",
    "answer_callback_query",
    "answer",
    "reply_text",
    "reply_html",
    "reply_markdown",
    "reply_document",
    "reply_photo",
    "pin_chat_message",
}
"""Methods of PTB's Bot, Message and CallbackQuery that send or edit (``answer`` is the query's)."""
SENDER_MODULES = {"bot.delivery.sender", "bot.telegram.bot_api", "bot.telegram.common"}
"""The sender, its Bot API transport, and the handlers' helpers over it."""

LAYERS: list[tuple[str, ...]] = [
    ("index",),
    ("bot", "bot.config", "bot.logs", "bot.metrics", "bot.i18n"),
    ("bot.storage",),
    ("bot.delivery",),
    ("bot.schedule",),
    ("bot.services", "bot.schedule.export"),
    ("bot.webapp",),
    ("bot.app_context", "bot.startup"),
    ("bot.telegram",),
    ("bot.cli", "bot.schedule.cli", "bot.__main__"),
]
"""Lowest first, as in docs/architecture.md; a module may import its own layer and those below it."""


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``name`` imports (at any depth of the file), with the line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in MODULES else base), node.lineno


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _ in imports(name, path):
            if target in MODULES and target != name:
                edges[name].add(target)
    return edges


def layer_of(name: str) -> int:
    best, level = -1, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), index
    assert level >= 0, f"{name} has no layer in LAYERS"
    return level


def test_sql_and_the_database_driver_only_in_storage() -> None:
    found = []
    for name, path in MODULES.items():
        if name.startswith("bot.storage"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, line in imports(name, path):
            if target.split(".")[0] in DATABASE_MODULES:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} SQL {node.value[:50]!r}")
    assert found == []


def test_the_checks_see_what_they_look_for() -> None:
    assert SQL.search("SELECT id FROM users") and SQL.search("PRAGMA user_version = 3")
    assert not SQL.search("Select a day from the list") and not SQL.search("update the knowledge")
    assert layer_of("index.engine") < layer_of("bot.storage.database") < layer_of("bot.telegram.app")
    assert layer_of("bot.schedule.cli") > layer_of("bot.schedule.readers")
    edges = graph()
    assert "bot.app_context" in edges["bot.telegram.app"] and "bot.services" in edges["bot.app_context"]
    # Imports under TYPE_CHECKING and inside functions are in the graph too.
    assert "bot.services" in edges["bot.cli"]
    assert "bot.app_context" in edges["bot.cli"]


def test_bot_api_sends_and_edits_only_through_the_sender() -> None:
    found = []
    for name, path in MODULES.items():
        if name in SENDER_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in BOT_API_CALLS
                # ``answer`` is a send only on a callback query (services have an ``answer`` too)
                and (node.func.attr != "answer" or ast.unparse(node.func.value).endswith("query"))
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}(...)")
    assert found == []


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_hidden_or_not() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles(graph()) == []


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    found = []
    for name, path in MODULES.items():
        for target, line in imports(name, path):
            if target in MODULES and layer_of(target) > layer_of(name):
                found.append(f"{path.relative_to(ROOT)}:{line} ({name}) imports {target}")
    assert found == []


def test_the_layers_are_the_ones_documented() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    for layer in LAYERS:
        for name in layer:
            assert f"`{name}`" in section, name


def test_every_place_the_architecture_page_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    places = set(re.findall(r"`((?:bot|index|tests)/[\w/.*-]+)`", text))
    assert "bot/app_context.py" in places and "bot/telegram/context.py" in places
    for place in sorted(places):
        assert list(ROOT.glob(place.rstrip("/"))), place
