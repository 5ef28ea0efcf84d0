"""Project exceptions. Each carries a catalogue key, so it reads in Chinese or English."""

from __future__ import annotations

from painpoints.i18n import tr


class PainpointsError(Exception):
    """Base class: a problem the user can fix, described by a catalogue message.

    Parameters
    ----------
    key : str
        Catalogue key of the message (see ``locales/catalogue.toml``).
    **params
        Values for the message's placeholders (file, row, column, value …).
    """

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(self.message("en"))

    def message(self, language: str | None = None) -> str:
        """Return the message in ``language`` (the current interface language by default)."""
        return tr(self.key, language, **self.params)


class InputDataError(PainpointsError):
    """The feedback or customers file cannot be read or mapped."""


class ModelNotFoundError(PainpointsError):
    """An embedding model is not installed or its folder is missing."""


class SettingsError(PainpointsError):
    """An option has an invalid value."""


class StoreError(PainpointsError):
    """The run store cannot be opened or does not contain the requested run."""
