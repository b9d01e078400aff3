"""An npm command line as npm 11 reads it: which command, where it is, and the few options ipnpm
acts on.

npm hands its argv to nopt with the option types of @npmcli/config's definitions; the first
argument nopt leaves over is the command, which lib/utils/cmd-list.js resolves (aliases, typos,
abbreviations). This module ports both, so ``npm --prefix sub install`` is ``install`` (``--prefix``
takes a value) and ``npm --json view x`` is ``view`` (``--json`` takes none). The option table
comes from the installed npm (``_npm_options.py``, generated). Standard library only: this runs
on the pass-through path, before npm is exec'd.

Only the command line is read: an npmrc or ``npm_config_*`` variable may still set what it
leaves unset, hence ``None`` for "not on the command line".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from ipnpm.npm._npm_options import ALIASES, COMMANDS, SHORTHANDS, TYPES

# A value as nopt stores it: a string, a boolean, a number, null, or a list of those.
_Value = str | bool | float | None
_Token = tuple[str, int]  # an argument and the index of the argv element it came from


_FIELDS = (
    "command", "command_index", "positionals", "loglevel", "json", "global_", "prefix",
    "workspace", "workspaces", "offline", "version", "usage", "registry", "userconfig",
)  # fmt: skip


class NpmArgv:
    """What npm makes of one command line (the arguments after ``npm``). Immutable.

    A frozen dataclass in all but name: importing ``dataclasses`` (and ``inspect``, ``ast``,
    ``dis`` with it) costs about 11 ms, paid by every pass-through ``npm run build``.
    """

    __slots__ = _FIELDS

    command: str | None
    """The command npm runs, by its canonical name (``i``/``isntall``/``add`` → ``install``);
    None when there is none or npm knows no such command."""
    command_index: int | None
    """Index in argv of the command word as typed (also when npm does not know it); None when
    argv has no command word (``npm``, ``npm -g``, ``npm --versions``)."""
    positionals: tuple[str, ...]
    """The arguments after the command word that are not options, ``--`` removed."""
    loglevel: str | None
    """``--loglevel X``, ``-s``/``--silent`` (silent), ``-q``/``--quiet`` (warn), ``-d`` (info),
    ``-dd``/``--verbose`` (verbose), ``-ddd`` (silly); an invalid level is dropped, as npm does."""
    json: bool | None
    global_: bool | None
    """``-g``/``--global`` True, ``--local``/``--no-global`` False."""
    prefix: str | None
    """``--prefix``/``-C`` as given; npm resolves it against the working directory."""
    workspace: tuple[str, ...]
    """Each ``-w``/``--workspace`` value, in order."""
    workspaces: bool | None
    """``--workspaces``/``-ws`` True, ``--no-workspaces`` False."""
    offline: bool | None
    version: bool | None
    """``-v``/``--version``: npm prints its version and runs no command, even when one follows."""
    usage: bool | None
    """``-h``/``--help``/``-?``/``-H``/``--usage``: npm prints usage and runs no command."""
    registry: str | None
    """``--registry``/``--reg`` as given (npm normalises it: ``http://x`` → ``http://x/``)."""
    userconfig: str | None
    """``--userconfig`` as given; npm resolves it against the working directory."""

    def __init__(
        self,
        *,
        command: str | None,
        command_index: int | None,
        positionals: tuple[str, ...],
        loglevel: str | None,
        json: bool | None,
        global_: bool | None,
        prefix: str | None,
        workspace: tuple[str, ...],
        workspaces: bool | None,
        offline: bool | None,
        version: bool | None,
        usage: bool | None,
        registry: str | None,
        userconfig: str | None,
    ) -> None:
        given = locals()
        for name in _FIELDS:
            object.__setattr__(self, name, given[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"NpmArgv is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"NpmArgv is immutable: cannot delete {name}")

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NpmArgv) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.as_dict().items())
        return f"NpmArgv({fields})"


def parse(args: Sequence[str]) -> NpmArgv:
    """Read ``npm <args>`` the way npm 11 does."""
    data, remain = _Nopt(args).run()
    word = remain[0] if remain else None
    command = _deref(word[0]) if word else None
    positionals = tuple(arg for arg, _ in remain[1:])
    if data.get("versions") is True:  # `npm --versions` runs `npm version` (lib/npm.js)
        command, word, positionals = "version", None, ()
    return NpmArgv(
        command=command,
        command_index=word[1] if word else None,
        positionals=positionals,
        loglevel=_literal(data, "loglevel"),
        json=_boolean(data, "json"),
        global_=_boolean(data, "global"),
        prefix=_string(data, "prefix"),
        workspace=_strings(data, "workspace"),
        workspaces=_boolean(data, "workspaces"),
        offline=_boolean(data, "offline"),
        version=_boolean(data, "version"),
        usage=_boolean(data, "usage"),
        registry=_string(data, "registry"),
        userconfig=_string(data, "userconfig"),
    )


def option_name(arg: str) -> str | None:
    """The option nopt reads ``arg`` as: ``--reg``, ``--regi=x`` and ``--registry`` are all
    ``registry``, ``-C`` is ``prefix``, ``--no-json`` is ``json``; None for an argument that is
    not an option. A group of single letters (``-gl``) names its first."""
    if not arg.startswith("-") or len(arg) == 1 or _ALL_DASHES.match(arg):
        return None
    name = arg.split("=", 1)[0]
    expanded = _resolve_short(name)
    if expanded:
        name = expanded[0]
    name = _negation(name.lstrip("-"))[0]
    return name if name in TYPES else _option_abbrevs().get(name, name)


class _Nopt:
    """nopt's ``parse`` (nopt-lib.js), statement for statement, so that its corners agree: an
    option that takes a value takes the next argument even when it starts with ``-`` (only a
    lone ``String`` type refuses), ``--json=x`` leaves ``x`` as an argument, an unknown
    ``--flag`` is a boolean, ``-abc`` is three shorthands when all are single letters.

    Each argument keeps the index of the argv element it came from: nopt splits ``--a=b`` and
    expands shorthands in place.
    """

    def __init__(self, args: Sequence[str]) -> None:
        self.args: list[_Token] = [(arg, index) for index, arg in enumerate(args)]
        self.data: dict[str, _Value | list[_Value]] = {}
        self.remain: list[_Token] = []
        self.i = 0

    def run(self) -> tuple[dict[str, _Value | list[_Value]], list[_Token]]:
        while self.i < len(self.args):
            arg, origin = self.args[self.i]
            if _ALL_DASHES.match(arg):  # `--`: the rest are arguments
                self.remain += self.args[self.i + 1 :]
                break
            if arg.startswith("-") and len(arg) > 1:
                self._option(arg, origin)
            else:
                self.remain.append((arg, origin))
            self.i += 1
        return self.data, self.remain

    def _option(self, arg: str, origin: int) -> None:
        had_eq = "=" in arg
        if had_eq:
            arg, value = arg.split("=", 1)
            self.args[self.i : self.i + 1] = [(arg, origin), (value, origin)]
        expanded = _resolve_short(arg)
        if expanded is not None:
            self.args[self.i : self.i + 1] = [(item, origin) for item in expanded]
            if not expanded or arg != expanded[0]:
                self.i -= 1  # parse the expansion from its start
                return
        name, no = _negation(arg.lstrip("-"))
        if name not in TYPES:
            name = _option_abbrevs().get(name, name)
        if self._is_boolean(name, no, had_eq):
            self._store(name, self._boolean_value(name, no))
        else:
            self._store(name, self._option_value(name))

    def _lookahead(self) -> str | None:
        return self.args[self.i + 1][0] if self.i + 1 < len(self.args) else None

    def _is_boolean(self, name: str, no: bool | None, had_eq: bool) -> bool:
        if name not in TYPES:
            return not had_eq or no is not None
        named, literals = TYPES[name]
        return (
            no is not None
            or "Boolean" in named
            or (self._lookahead() == "false" and None in literals)
        )

    def _boolean_value(self, name: str, no: bool | None) -> _Value:
        value: _Value = not no
        la = self._lookahead()
        if la in ("true", "false"):  # `--flag true`, `--flag false`
            value = (la == "true") != bool(no)
            la = None
            self.i += 1
        named, literals = TYPES.get(name, ((), ()))
        if len(named) + len(literals) > 1 and la:  # e.g. [null, Boolean, String]
            if la in literals:
                value = la
            elif la == "null" and None in literals:
                value = None
            elif not _LONG_OPTION.match(la) and "Number" in named and _js_number(la) is not None:
                value = _js_number(la)
            elif not _SHORT_OPTION.match(la) and "String" in named:
                value = la
            else:
                return value
            self.i += 1
        return value

    def _option_value(self, name: str) -> _Value:
        la = self._lookahead()
        if TYPES.get(name) == (("String",), ()):
            # Only a lone String refuses an option as its value: `--otp --json` sets otp="".
            if la is None:
                la = ""
            elif _OPTION_LIKE.match(la):
                la = ""
                self.i -= 1
        if la and _ALL_DASHES.match(la):
            la = None
            self.i -= 1
        self.i += 1
        return True if la is None else la

    def _store(self, name: str, value: _Value) -> None:
        # An unknown option given twice becomes a list.
        is_list = "Array" in TYPES[name][0] if name in TYPES else name in self.data
        existing = self.data.setdefault(name, []) if is_list else None
        if isinstance(existing, list):
            existing.append(value)
        elif is_list:
            self.data[name] = [existing, value]
        else:
            self.data[name] = value


_ALL_DASHES = re.compile(r"-{2,}\Z")
_LONG_OPTION = re.compile(r"-{2,}[^-]")
_SHORT_OPTION = re.compile(r"-[^-]")
_OPTION_LIKE = re.compile(r"-{1,2}[^-]+")
_JS_NUMBER = re.compile(
    r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+"
)


def _negation(name: str) -> tuple[str, bool | None]:
    """``no-json`` → (``json``, True); ``no-no-json`` → (``json``, False)."""
    no: bool | None = None
    while name.lower().startswith("no-"):
        no = not no
        name = name[3:]
    return name, no


def _resolve_short(arg: str) -> list[str] | None:
    """nopt's ``resolveShort``: what a shorthand (``-g``, ``-dd``, ``-gl``, ``--reg``) means."""
    arg = arg.lstrip("-")
    if arg in TYPES:
        return None
    if arg in SHORTHANDS:
        return list(SHORTHANDS[arg])
    letters = _single_letter_shorthands()
    if all(letter in letters for letter in arg):  # `-gl` is `-g -l`; "" expands to nothing
        return [item for letter in arg for item in SHORTHANDS[letter]]
    if arg in _option_abbrevs():
        return None
    full = _shorthand_abbrevs().get(arg)
    return list(SHORTHANDS[full]) if full else None


def _deref(word: str) -> str | None:
    """lib/utils/cmd-list.js ``deref``: the command npm runs for the word typed."""
    if not word:
        return None
    if re.search("[A-Z]", word):  # installTest → install-test
        word = re.sub("([A-Z])", lambda m: "-" + m.group(1).lower(), word)
    if word in _COMMAND_SET:
        return word
    if word in ALIASES:
        return ALIASES[word]
    command = _command_abbrevs().get(word)
    while command in ALIASES:
        command = ALIASES[command]
    return command


_COMMAND_SET = frozenset(COMMANDS)


@functools.cache
def _single_letter_shorthands() -> frozenset[str]:
    return frozenset(key for key in SHORTHANDS if len(key) == 1)


@functools.cache
def _option_abbrevs() -> dict[str, str]:
    return _abbrev(TYPES)


@functools.cache
def _shorthand_abbrevs() -> dict[str, str]:
    return _abbrev(SHORTHANDS)


@functools.cache
def _command_abbrevs() -> dict[str, str]:
    return _abbrev([*COMMANDS, *ALIASES])


def _abbrev(words: Iterable[str]) -> dict[str, str]:
    """The ``abbrev`` package: every unambiguous prefix of each word, and each word itself."""
    ordered = sorted(words)
    abbrevs: dict[str, str] = {}
    prev = ""
    for index, current in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else ""
        if current == following:
            continue
        unique = _unique_prefix_length(current, prev, following)
        prev = current
        for end in range(unique, len(current) + 1):
            abbrevs[current[:end]] = current
    return abbrevs


def _unique_prefix_length(word: str, before: str, after: str) -> int:
    for end in range(1, len(word) + 1):
        if word[:end] != before[:end] and word[:end] != after[:end]:
            return end
    return len(word)


def _js_number(text: str) -> float | None:
    """JavaScript's ``Number(text)`` when it is not NaN."""
    text = text.strip()
    if not text:
        return 0
    if text.lstrip("+-") == "Infinity":
        return float(text)
    if not _JS_NUMBER.fullmatch(text):
        return None
    if text[:2].lower() in ("0x", "0o", "0b"):
        return int(text, 0)
    return float(text)


# nopt's `clean`, for the few options ipnpm reads: the value npm keeps (the last one given for
# an option that is not a list), or None when it is not on the command line or npm drops it.
_Data = dict[str, _Value | list[_Value]]


def _given(data: _Data, name: str) -> list[_Value]:
    value = data.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [v.strip() if isinstance(v, str) else v for v in values]


def _last(data: _Data, name: str) -> _Value:
    values = _given(data, name)
    return values[-1] if values else None


def _literal(data: _Data, name: str) -> str | None:
    value = _last(data, name)
    return value if isinstance(value, str) and value in TYPES[name][1] else None


def _boolean(data: _Data, name: str) -> bool | None:
    value = _last(data, name)
    return value if isinstance(value, bool) else None  # a lone Boolean gets no other value


def _string(data: _Data, name: str) -> str | None:
    value = _last(data, name)
    return value if isinstance(value, str) else None  # `--prefix` with no value: dropped


def _strings(data: _Data, name: str) -> tuple[str, ...]:
    """A [String, Array] option: every value, as JavaScript's ``String()`` writes it."""
    names = {True: "true", False: "false", None: "null"}
    return tuple(
        names[v] if v is None or isinstance(v, bool) else str(v) for v in _given(data, name)
    )
