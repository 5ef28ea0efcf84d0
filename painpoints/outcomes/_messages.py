"""Notes of the outcomes stage: a catalogue key plus the values of its placeholders.

The stages record what they left out or left empty as :class:`OutcomeMessage` objects,
so the note reads in the interface language wherever it is shown. The texts are the
``outcome_notes.*`` entries of ``locales/catalogue.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from painpoints.i18n import UI_LANGUAGES, tr

KEY_PREFIX = "outcome_notes."


def _json_value(value: object) -> object:
    """Convert a parameter to a JSON type: numpy scalars to numbers, sequences to lists."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    item = getattr(value, "item", None)
    if callable(item):
        converted = item()
        if isinstance(converted, (bool, int, float, str)):
            return converted
    return str(value)


@dataclass(frozen=True)
class OutcomeMessage:
    """One note of the outcomes stage.

    Attributes
    ----------
    key : str
        Catalogue key, ``outcome_notes.<name>``.
    params : Mapping[str, object]
        Values of the key's placeholders, converted to JSON types on creation (lists
        of topic ids stay lists, exceptions become their text), so that the message
        survives a round trip through run.json unchanged.
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        plain = {str(name): _json_value(value) for name, value in self.params.items()}
        object.__setattr__(self, "params", plain)

    @classmethod
    def of(cls, name: str, **params: object) -> OutcomeMessage:
        """Create the message ``outcome_notes.<name>`` with its placeholder values."""
        return cls(KEY_PREFIX + name, params)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutcomeMessage:
        """Rebuild a message from the output of :meth:`to_dict`."""
        return cls(data["key"], dict(data.get("params") or {}))

    def text(self, language: str | None = None) -> str:
        """Return the message in ``language`` (the current interface language by default)."""
        return tr(self.key, language, **self.params)

    def to_dict(self) -> dict[str, Any]:
        """Return the message as stored in run.json: key, params and the text in each language."""
        stored: dict[str, Any] = {"key": self.key, "params": dict(self.params)}
        for language in UI_LANGUAGES:
            stored[language] = self.text(language)
        return stored

    def __str__(self) -> str:
        # English, as in the log, whatever the interface language.
        return self.text("en")


def stored_message_text(stored: object, language: str) -> str:
    """Return a message of run.json's ``outcomes.messages`` in ``language``.

    A stored message is the dict of :meth:`OutcomeMessage.to_dict`. Its text is rebuilt
    from the catalogue, so a corrected translation reaches old runs too. When the key
    is no longer in the catalogue, the text stored in that language (else in English)
    is returned. Runs saved before messages had keys stored plain English strings,
    which are returned unchanged.
    """
    if not isinstance(stored, Mapping):
        return str(stored)
    try:
        return OutcomeMessage.from_dict(stored).text(language)
    except (KeyError, IndexError, ValueError):
        return str(stored.get(language) or stored.get("en") or stored.get("key", ""))
