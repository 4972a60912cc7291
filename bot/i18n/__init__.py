"""Interface texts per language, kept as data (``<lang>.yaml`` next to this file).

Texts are HTML templates for Telegram's HTML parse mode. Values filled into a template are escaped, so a
user's name or a knowledge title can never inject markup. All languages must define the same keys and the
same placeholders; :meth:`Translator.load` checks this when the bot starts.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from index.files import read_yaml
from index.types import LANGS, Lang

TEXTS_DIR = Path(__file__).parent


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Translator:
    """Looks up interface texts by language and dotted key (``"commands.help"``)."""

    def __init__(self, texts: Mapping[Lang, Mapping[str, str]]) -> None:
        reference = texts["en"]
        problems = []
        for lang in LANGS:
            keys = set(texts[lang])
            if keys != set(reference):
                problems.append(f"{lang}: keys differ from en: {sorted(keys ^ set(reference))}")
                continue
            for key, template in texts[lang].items():
                if _placeholders(template) != _placeholders(reference[key]):
                    problems.append(f"{lang}: placeholders of {key!r} differ from en")
        if problems:
            raise ValueError("Interface texts are inconsistent:\n" + "\n".join(problems))
        self._texts = texts

    @classmethod
    def load(cls, directory: Path = TEXTS_DIR) -> Translator:
        texts: dict[Lang, dict[str, str]] = {}
        for lang in LANGS:
            raw = read_yaml(directory / f"{lang}.yaml")
            texts[lang] = _flatten(raw)
        return cls(texts)

    def __call__(self, lang: Lang, key: str, **values: object) -> str:
        """The text ``key`` in ``lang`` as HTML, with ``values`` escaped and filled in."""
        template = self._texts[lang][key]
        return template.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})
