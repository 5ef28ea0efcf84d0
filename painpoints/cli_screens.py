"""Adaptations of typer's help and error screens: folding, flags, words, errors.

typer draws the ``--help`` screens and the usage errors (an unknown option, a missing
argument) itself, in English. These adaptations fold Chinese help text and break
its lines between characters, hide the value type of on/off switches, and show
typer's words and its error messages, with the rejected value, in the interface
language. Each one checks that the typer attribute it wraps exists, so a
typer release that renames one falls back to typer's own screen.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Final, Iterator

from painpoints.i18n import tr


def _fold_help_text() -> None:
    """Make the help screens fold long runs of text instead of cutting them with "…".

    Rich wraps help text at spaces only, and a Chinese sentence has none, so typer's
    option table cut every Chinese help text that was wider than its column.
    ``typer.rich_utils._make_rich_text`` is private: when a typer release renames it,
    the help falls back to typer's own wrapping.
    """
    import typer.rich_utils

    make_text = getattr(typer.rich_utils, "_make_rich_text", None)
    if make_text is None:
        return

    def folding(*args, **kwargs):
        text = make_text(*args, **kwargs)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    typer.rich_utils._make_rich_text = folding


# Characters a line may not begin with, and characters it may not end with, in
# Chinese typesetting (and their ASCII counterparts).
NO_LINE_START: Final = frozenset("，。、；：！？）》」』】〕…％,.;:!?)]}%")
NO_LINE_END: Final = frozenset("（《「『【〔([{")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def line_units(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, unit)`` for each piece of ``text`` that a line break may not split.

    Latin words stay whole, with the spaces after them. Each Chinese character is a
    unit of its own. Closing punctuation stays with the character before it, and
    opening punctuation with the character after it. ``"默认 50000，至少"`` gives
    ``默``, ``认 ``, ``50000，`` and then ``至``, ``少``.
    """
    start = 0
    # Spaces at the start of the text belong to its first unit, as in Rich.
    begun = not text[:1].isspace()
    for index in range(1, len(text)):
        before, char = text[index - 1], text[index]
        if char.isspace():
            continue
        if not begun:
            begun = True
            continue
        if before.isspace() or ((_wide(before) or _wide(char)) and char not in NO_LINE_START
                                and before not in NO_LINE_END):
            yield start, index, text[start:index]
            start = index
    if start < len(text):
        yield start, len(text), text[start:]


def _break_lines_between_characters() -> None:
    """Let Rich break a line between two Chinese characters, never inside a Latin word.

    Rich breaks lines at spaces only. A Chinese sentence has none, so Rich folded it
    at the column's edge wherever that fell: inside ``e5-multilingual`` or
    ``topic_outcomes.csv``, or before a closing bracket. Rich's line divider reads the
    units of a line from ``rich._wrap.words``, and this puts ``line_units`` in its
    place. For text without Chinese characters both give the same units.
    """
    import rich._wrap

    if callable(getattr(rich._wrap, "words", None)):
        rich._wrap.words = line_units


def _hide_flag_types() -> None:
    """Show no value type after on/off switches such as ``--no-redact`` in the help screens.

    typer 0.29.2 prints ``<bool>`` after every flag, although a flag takes no value. The
    wrapper keeps typer's type column for all other options. When a typer release
    drops ``TyperOption.display_type_rich``, the help shows typer's own column again.
    """
    from typer.core import TyperOption

    show_type = getattr(TyperOption, "display_type_rich", None)
    if show_type is None:
        return

    def without_flag_type(self, ctx):
        if getattr(self, "is_flag", False):
            return None
        return show_type(self, ctx)

    TyperOption.display_type_rich = without_flag_type


# typer's own words in the help and error screens, by the name rich_utils gives them.
TYPER_WORDS: Final = {
    "ARGUMENTS_PANEL_TITLE": "cli.help_arguments", "OPTIONS_PANEL_TITLE": "cli.help_options",
    "COMMANDS_PANEL_TITLE": "cli.help_commands", "REQUIRED_LONG_STRING": "cli.help_required",
    "DEFAULT_STRING": "cli.help_default", "ERRORS_PANEL_TITLE": "cli.help_error", "ABORTED_TEXT": "cli.help_aborted",
    "RICH_HELP": "cli.help_try",
}


def _localise_typer_words() -> None:
    """Show typer's panel titles, markers and the ``--help`` line in the interface language.

    typer 0.29.2 keeps them in module constants of ``typer.rich_utils``, read when a
    screen is drawn, and builds ``--help`` in ``Command.get_help_option``. Names a
    later release drops are skipped, and typer's English shows there.
    """
    from typer import rich_utils
    from typer._click.core import Command

    for name, key in TYPER_WORDS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, tr(key))
    help_option = getattr(Command, "get_help_option", None)
    if help_option is None:
        return

    def localised_help_option(self, ctx):
        option = help_option(self, ctx)
        if option is not None:
            option.help = tr("cli.opt_help")
        return option

    Command.get_help_option = localised_help_option


# typer's own error messages (its vendored click), and the catalogue entry that gives
# each in the interface language. The named groups become the entry's parameters.
ERROR_PATTERNS: Final = (
    # The options every command has, given before the command instead of after it.
    (re.compile(r"No such option: (?P<name>--lang-ui|--store|--verbose|-v)(?: \(.*\))?", re.S),
     "cli.error_option_after_command"),
    # The file argument under its parameter name or its placeholder in either language.
    (re.compile(r"Missing argument '(?:feedback|FILE|文件)'\.", re.S), "cli.error_missing_file"),
    (re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)", re.S), "cli.error_no_option_hint"),
    (re.compile(r"No such option: (?P<name>\S+)", re.S), "cli.error_no_option"),
    (re.compile(r"No such command '(?P<name>.+?)'\. Did you mean '(?P<hint>.+?)'\?", re.S), "cli.error_no_command_hint"),
    (re.compile(r"No such command '(?P<name>.+?)'\.", re.S), "cli.error_no_command"),
    (re.compile(r"Missing (?:argument|option|parameter) '?(?P<name>[^']+?)'?\.", re.S), "cli.error_missing"),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<values>.*)\)", re.S), "cli.error_extra_arguments"),
    (re.compile(r"Option '?(?P<name>[^']+?)'? requires an argument\.", re.S), "cli.error_needs_value"),
    (re.compile(r"Option '?(?P<name>[^']+?)'? does not take a value\.", re.S), "cli.error_takes_no_value"),
    (re.compile(r"Invalid value for '?(?P<name>[^':]+?)'?: (?P<detail>.*)", re.S), "cli.error_invalid_value"),
)
# Reasons for an invalid value, in the words of typer's number conversions, and the
# catalogue entries without and with the value given.
DETAIL_PATTERNS: Final = (
    (re.compile(r"Input should be a valid integer.*", re.S), "cli.error_detail_integer"),
    (re.compile(r"Input should be a valid number.*", re.S), "cli.error_detail_number"),
)


def _detail(detail: str, value: object | None) -> str:
    for pattern, key in DETAIL_PATTERNS:
        if pattern.fullmatch(detail.strip()):
            return tr(key) if value is None else tr(f"{key}_value", value=value)
    return detail


def translate_error(message: str, value: object | None = None) -> str:
    """Return typer's error ``message`` in the interface language, or unchanged when no pattern fits.

    ``value`` is what the user typed when typer rejected a value. In Chinese,
    ``No such option: --foo`` becomes ``没有这个选项：--foo``.
    """
    for pattern, key in ERROR_PATTERNS:
        matched = pattern.fullmatch(message.strip())
        if matched:
            params = matched.groupdict()
            if "detail" in params:
                params["detail"] = _detail(params["detail"], value)
            if key == "cli.error_option_after_command":
                params["option"] = f"{params['name']} …"
            return tr(key, **params)
    return message


def _command_options(context) -> dict[str, bool]:
    """Map each option of the subcommands of ``context``'s group to whether it is a flag.

    Empty when ``context`` belongs to a subcommand, whose unknown options are misspelt.
    """
    commands = getattr(getattr(context, "command", None), "commands", None)
    if not isinstance(commands, dict):
        return {}
    return {name: bool(getattr(param, "is_flag", False))
            for command in commands.values() for param in getattr(command, "params", ())
            for name in getattr(param, "opts", ())}


def _option_before_command(error) -> str | None:
    """Return the message for a subcommand's option given before the command, else None.

    ``painpoints --lang-ui zh analyze x.csv`` fails in the group, which has no
    ``--lang-ui``. The example in the message repeats the value typed after the option.
    """
    name = getattr(error, "option_name", None)
    options = _command_options(getattr(error, "ctx", None))
    if name not in options:
        return None
    option = name
    if not options[name]:
        arguments = sys.argv[1:]
        joined = [argument.split("=", 1)[1] for argument in arguments if argument.startswith(f"{name}=")]
        if joined:
            following = joined[0]
        else:
            following = arguments[arguments.index(name) + 1] if name in arguments[:-1] else "…"
        option = f"{name} {following}"
    return tr("cli.error_option_after_command", name=name, option=option)


def rejected_value(error: BaseException) -> object | None:
    """Return the value typer's type check rejected, or None when the error does not carry it.

    typer 0.29.2 checks values with pydantic and raises its usage error from the
    pydantic error, whose ``errors()`` hold the input.
    """
    errors = getattr(error.__cause__, "errors", None)
    if not callable(errors):
        return None
    try:
        found = errors()
    except Exception:  # noqa: BLE001 - any failure only means the value is not shown
        return None
    return found[0].get("input") if found and isinstance(found[0], dict) else None


def _localise_errors() -> None:
    """Print typer's usage errors in the interface language.

    typer 0.29.2 prints them through ``rich_utils.rich_format_error``, which reads the
    exception's ``format_message``; the wrapper gives the exception a translated one.
    """
    from typer import rich_utils

    format_error = getattr(rich_utils, "rich_format_error", None)
    if format_error is None:
        return

    def localised(error) -> None:
        message = _option_before_command(error) or translate_error(error.format_message(), rejected_value(error))
        error.format_message = lambda: message
        # The top-level command takes no --lang-ui, so its hint names the environment variable.
        top_level = getattr(getattr(error, "ctx", None), "parent", True) is None
        if hasattr(rich_utils, "RICH_HELP"):
            rich_utils.RICH_HELP = tr("cli.help_try_top" if top_level else "cli.help_try")
        format_error(error)

    rich_utils.rich_format_error = localised


def _localise_usage_prefix() -> None:
    """Begin the usage line with the interface language's word for "Usage:"."""
    from typer._click.formatting import HelpFormatter

    write_usage = getattr(HelpFormatter, "write_usage", None)
    if write_usage is None:
        return

    def localised(self, prog, args="", prefix=None):
        return write_usage(self, prog, args, tr("cli.usage_prefix") if prefix is None else prefix)

    HelpFormatter.write_usage = localised


def adapt_typer_screens() -> None:
    """Apply every adaptation; called once, when the command line module is imported."""
    _fold_help_text()
    _break_lines_between_characters()
    _hide_flag_types()
    _localise_typer_words()
    _localise_errors()
    _localise_usage_prefix()
