"""Loading and saving the settings file, and the run state beside it.

The settings file is the user's: TOML, human-editable, never a secret in it, written
atomically with mode 0600. Loading never raises for a bad file (the wizard must still
start and show the problem); :meth:`Resolved.require_valid` is what stops a headless
command on a bad value, before anything reaches Azure. Precedence for every value is
command line > environment > file > default; :func:`resolve` is the only place that
applies it. Saving writes back only the file's own values and the user's answers
(see :class:`~numerai_aci_wizard.settings.Provenance`).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import dirs, redact
from .events import ErrorCode, WizardError
from .settings import (
    ALIASES,
    FIELD_BY_KEY,
    FIELDS,
    MAX_USER_TAGS,
    SECTIONS,
    TAGS_SECTION,
    Field,
    Settings,
    check_tag,
    coerce,
)
from .textfiles import is_utf16, windows_path_in_basic_string

APP_NAME = "numerai-aci-wizard"
CONFIG_NAME = "config.toml"
#: A settings file is a few hundred bytes; anything over this is not one (and is not read whole).
MAX_SETTINGS_BYTES = 1024 * 1024
MAX_STATE_BYTES = 1024 * 1024
#: Unknown keys are listed one by one up to this many, then counted.
MAX_LISTED_UNKNOWN = 20
#: ... and kept (with their suggestion) up to this many: a hostile file may hold millions
MAX_KEPT_UNKNOWN = 200

_HEADER = (
    "# numerai-aci-wizard settings. Secrets (Numerai keys, registry password) are never\n"
    "# stored here: they come from the environment, the OS keyring (opt-in) or a prompt.\n"
)


def default_config_path() -> Path:
    return dirs.config_dir() / CONFIG_NAME


def state_dir() -> Path:
    return dirs.state_dir()


def state_path(config_path: Path) -> Path:
    """Run state for one settings file: each --config keeps its own history."""
    if config_path == default_config_path():
        return state_dir() / "state.json"
    digest = hashlib.sha256(str(config_path.resolve()).encode()).hexdigest()[:12]
    return state_dir() / f"state-{digest}.json"


# --- reading a file that may be hostile ---------------------------------------------------


class Unreadable(Exception):
    """The path is not a file we read: a folder, a device, a pipe, too big, not text."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_limited(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file; never blocks on a pipe, never reads a device.

    Raises FileNotFoundError when nothing is there, :class:`Unreadable` (with the reason a
    user reads) for anything else that is not a small regular file.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise
    except NotADirectoryError:
        raise Unreadable("a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    if not stat.S_ISREG(before.st_mode):
        raise Unreadable(f"it is {_kind(before.st_mode)}, not a settings file")
    if before.st_size > limit:
        raise Unreadable(f"it holds {before.st_size:,} bytes; the limit is {limit:,}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the stat and the open
            raise Unreadable("it is not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if size > limit:
        raise Unreadable(f"it holds more than {limit:,} bytes")
    return b"".join(chunks)


# --- loading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadValue:
    """A value in the settings file that its rule refuses: where it is, what, and why."""

    key: str
    raw: Any
    reason: str
    path: Path
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.path}, line {self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.key} = {shown_raw(self.raw)}: {self.reason}"


@dataclass(frozen=True)
class UnknownKey:
    """A key the settings file holds that no setting reads: misspelt, or in the wrong table.

    A command that acts on Azure stops on it (the default would stand in for what the user
    meant: someone else's resource); the wizard shows it and lets the user fix or drop it.
    """

    key: str  # as written, dotted: "azure.container_grup", "resource_group" (top level)
    path: Path
    line: int | None = None
    #: the setting it most likely means ("azure.container_group"), "" when nothing is close
    suggestion: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}, line {self.line}" if self.line else f"{self.path}, top level"

    @property
    def did_you_mean(self) -> str:
        """``did you mean `container_group`?`` (the table named too when it is another one)."""
        if not self.suggestion:
            return ""
        section, _, name = self.suggestion.rpartition(".")
        if not section:  # a table: "azur" -> "azure"
            return f"did you mean `[{name}]`?"
        here = self.key.rpartition(".")[0]
        if here == section:
            return f"did you mean `{name}`?"
        return f"did you mean `{name}` under `[{section}]`?"

    def __str__(self) -> str:
        said = f"{self.where}: unknown setting '{self.key}'"
        return f"{said}: {self.did_you_mean}" if self.suggestion else said


def _known_keys() -> list[str]:
    return [spec.key for spec in FIELDS] + list(ALIASES)


def nearest_key(section: str, name: str | None) -> str:
    """The known setting an unknown key most likely means (difflib), or "".

    ``section``/``name`` as the file has them: a key under a table, or a top-level key
    (``section`` "", e.g. ``resource_group`` written above ``[azure]``), or a table of its
    own (``name`` None: ``[azur]``).
    """
    known = _known_keys()
    if name is None:
        found = difflib.get_close_matches(section, list(SECTIONS), n=1, cutoff=0.6)
        return found[0] if found else ""
    if section in SECTIONS:  # first the table it is in, then the others (a misplaced key)
        here = [k.split(".")[1] for k in known if k.startswith(f"{section}.")]
        found = difflib.get_close_matches(name, here, n=1, cutoff=0.75)
        if found:
            return f"{section}.{found[0]}"
    names = {k.split(".")[1]: k for k in reversed(known)}  # the first key of a name wins
    found = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
    if found:
        return ALIASES.get(names[found[0]], names[found[0]])
    if not section:  # a table's name written as a key
        found = difflib.get_close_matches(name, list(SECTIONS), n=1, cutoff=0.75)
        return found[0] if found else ""
    if section not in SECTIONS:  # a key under a misspelt table: the table is what is wrong
        return nearest_key(section, None)
    return ""


def shown_raw(raw: Any, limit: int = 60) -> str:
    """A file's value as the user wrote it, short, and safe for any depth of nesting."""
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list) and any(isinstance(v, list | dict) for v in raw):
        return "a nested list"
    text = json.dumps(raw, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Loaded:
    """What loading found: the settings plus everything worth telling the user."""

    settings: Settings
    path: Path
    exists: bool = False
    #: for everyone: unknown keys; for the wizard also each refused value (see ``wizard_notes``)
    warnings: list[str] = field(default_factory=list)
    #: every key no setting reads (a command that acts stops on them; see ``Resolved``)
    unknown: list[UnknownKey] = field(default_factory=list)
    unknown_more: int = 0  # how many more there are than ``unknown`` lists
    #: the warnings that tell of unknown keys (errors, not warnings, for a command that acts)
    unknown_notes: list[str] = field(default_factory=list)
    #: the file could not be read at all (``problem``), told as the wizard copes with it
    error: str | None = None
    problem: str | None = None  # what is wrong with the file, for a command that must stop
    raw_invalid: dict[str, Any] = field(default_factory=dict)  # key -> what the file said
    invalid: list[BadValue] = field(default_factory=list)  # each refused value, with its line
    #: the warnings that describe a refused value as the wizard handles it (it starts anyway,
    #: showing the value in its field); a command reports ``invalid`` as errors instead
    wizard_notes: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> Loaded:
        self.problem = problem
        self.error = f"{problem}; starting from the defaults"
        return self


_TABLE_RE = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?")
_KEY_RE = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[=.]""")


def _line_index(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> the line it is first written on, in one pass (linear in the file)."""
    index: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("["):
            if m := _TABLE_RE.match(stripped):
                section = ".".join(p.strip().strip("\"'") for p in m.group(1).split("."))
                parent, _, last = section.rpartition(".")
                index.setdefault((parent, last), number)
            continue
        if m := _KEY_RE.match(stripped):
            index.setdefault((section, m.group(1).strip("\"'")), number)
    return index


def load(path: Path | None = None) -> Loaded:
    """Read the settings file; never raises for a bad file (the wizard must still start)."""
    path = Path(path) if path else default_config_path()
    loaded = Loaded(settings=Settings(), path=path)
    loaded.settings.provenance.tracked = True
    try:
        data_bytes = read_limited(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return loaded
    except Unreadable as exc:
        loaded.exists = True
        return loaded.fail(f"cannot read the settings file {path}: {exc}")
    loaded.exists = True
    try:  # UTF-16 with its BOM is what Windows PowerShell's `>` writes
        text = data_bytes.decode("utf-16") if is_utf16(data_bytes) else ""
    except UnicodeDecodeError:
        text = ""
    try:
        text = text or data_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return loaded.fail(f"the settings file {path} is not UTF-8 text (byte {exc.start + 1})")
    if (windows_path := windows_path_in_basic_string(text)) is not None:
        return loaded.fail(f"the settings file {path}, line {windows_path[0]}: {windows_path[1]}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return loaded.fail(f"the settings file {path} is not valid TOML ({exc})")
    except RecursionError:
        return loaded.fail(f"the settings file {path} is nested too deeply to be a settings file")
    _apply(loaded, data, _line_index(text))
    return loaded


def _apply(loaded: Loaded, data: dict[str, Any], index: dict[tuple[str, str], int]) -> None:
    path, settings = loaded.path, loaded.settings
    prov = settings.provenance
    prov.file_data = data
    unknown: list[tuple[int, str]] = []  # (line, warning): told in the file's order
    found: dict[str, list[tuple[str, str, Any]]] = {}  # key -> [(section, name, raw)]
    tag_notes: list[tuple[int, str]] = []  # refused [tags] entries: invalid values, not unknown

    def unknown_key(section: str, name: str | None) -> None:
        line = index.get(("", section) if name is None else (section, name))
        if len(loaded.unknown) >= MAX_KEPT_UNKNOWN:  # counted, not listed (nor matched)
            loaded.unknown_more += 1
            unknown.append((line or 0, ""))
            return
        if name is None:  # a top-level key, or a table no setting lives in
            dotted = section
            suggestion = "" if isinstance(data[section], dict) else nearest_key("", section)
            suggestion = suggestion or nearest_key(section, None)
        else:
            dotted = f"{section}.{name}"
            suggestion = nearest_key(section, name)
        told = UnknownKey(dotted, path, line, suggestion)
        loaded.unknown.append(told)
        said = f" ({told.did_you_mean})" if suggestion else ""
        unknown.append((line or 0, f"{told.where}: unknown setting '{dotted}' ignored{said}"))

    for section, values in data.items():
        if section == TAGS_SECTION and isinstance(values, dict):
            tag_notes.extend(_apply_tags(loaded, values, index))
            continue
        if section not in SECTIONS or not isinstance(values, dict):
            if isinstance(values, dict) and values:
                for name in values:
                    unknown_key(section, name)
            else:
                unknown_key(section, None)
            continue
        for name, raw in values.items():
            dotted = f"{section}.{name}"
            key = ALIASES.get(dotted, dotted)
            if key not in FIELD_BY_KEY:
                unknown_key(section, name)
                continue
            found.setdefault(key, []).append((section, name, raw))
    notes: list[tuple[int, str]] = []
    for key, places in found.items():
        spec = FIELD_BY_KEY[key]
        places.sort(key=lambda p: p[1] != spec.key.split(".")[1])  # canonical first
        section, name, raw = places[0]
        line = index.get((section, name))
        prov.file_keys[key] = (section, name)
        value, reason = _judge(spec, raw, settings.get(key))
        if reason is None and len(places) > 1:
            reason = _disagreement(spec, value, places[1])
        if reason:
            bad = BadValue(f"{section}.{name}", raw, reason, path, line)
            loaded.raw_invalid[key] = raw
            loaded.invalid.append(bad)
            prov.invalid.add(key)
            shown = repr(raw) if isinstance(raw, str | int | float) else shown_raw(raw)
            standin = settings.get(key)
            note = (
                f"{bad.where}: {bad.key} = {shown}: {reason} (using {standin!r} until it is fixed)"
            )
            loaded.wizard_notes.append(note)
            notes.append((line or 0, note))
            continue
        settings.assign(key, value)
    told = sorted(unknown[:MAX_LISTED_UNKNOWN] + notes + tag_notes, key=lambda item: item[0])
    loaded.warnings.extend(text for _, text in told)
    loaded.unknown_notes.extend(text for _, text in unknown[:MAX_LISTED_UNKNOWN])
    if len(unknown) > MAX_LISTED_UNKNOWN:
        more = f"{path}: {len(unknown) - MAX_LISTED_UNKNOWN:,} more unknown settings ignored"
        loaded.warnings.append(more)
        loaded.unknown_notes.append(more)


def _apply_tags(
    loaded: Loaded, values: dict[str, Any], index: dict[tuple[str, str], int]
) -> list[tuple[int, str]]:
    """``[tags]``: each valid tag is kept; a refused one is an invalid value (headless
    commands stop on it), told with its line like any other."""
    path, settings = loaded.path, loaded.settings
    told: list[tuple[int, str]] = []
    for name, raw in values.items():
        line = index.get((TAGS_SECTION, name))
        reason = check_tag(str(name), raw)
        if reason is None and len(settings.tags) >= MAX_USER_TAGS:
            reason = f"at most {MAX_USER_TAGS} tags (Azure allows 50 a resource)"
        if reason is None:
            settings.tags[str(name)] = str(raw)
            continue
        bad = BadValue(f"{TAGS_SECTION}.{name}", raw, reason, path, line)
        loaded.invalid.append(bad)
        note = f"{bad.where}: {bad.key} = {shown_raw(raw)}: {reason} (left out until it is fixed)"
        loaded.wizard_notes.append(note)
        told.append((line or 0, note))
    return told


def _judge(spec: Field, raw: Any, default: Any) -> tuple[Any, str | None]:
    """A file value: the default written out (e.g. an empty answer) is absent, else its rule."""
    if type(raw) is type(default) and raw == default:
        return copy.copy(default), None
    return coerce(spec.key, raw)


def _disagreement(spec: Field, value: Any, other: tuple[str, str, Any]) -> str | None:
    """``model_id`` beside ``model_ids``: fine when it names the first model, else an error."""
    section, name, raw = other
    single, reason = coerce(f"{section}.{name}", raw)
    if reason:
        return f"{section}.{name} = {shown_raw(raw)} beside it: {reason}"
    first = value[0] if isinstance(value, list) and value else ""
    if str(single).lower() != str(first).lower():
        return (
            f"{section}.{name} = {shown_raw(raw)} says otherwise: keep only {spec.key} "
            f"(the list; {name} is the old one-model form)"
        )
    return None


def env_values(env: Mapping[str, str]) -> dict[str, str]:
    """Settings given through environment variables (first listed name wins)."""
    out: dict[str, str] = {}
    for spec in FIELDS:
        for name in spec.envs:
            if env.get(name, "").strip():
                out[spec.key] = env[name]
                break
    return out


@dataclass
class Resolved:
    """The settings a command runs with, every source applied, and what was refused."""

    settings: Settings
    loaded: Loaded
    errors: list[str] = field(default_factory=list)  # bad values given on the command line or env
    #: the file's refused values that nothing overrode: the command would run on a default
    invalid: list[BadValue] = field(default_factory=list)

    def warnings(self, *, acting: bool = False) -> list[str]:
        """What a command warns about: the wizard's notes on refused values are errors there
        (and, for a command that acts, the unknown keys: see :meth:`require_valid`)."""
        errors = self.loaded.wizard_notes + (self.loaded.unknown_notes if acting else [])
        return [w for w in self.loaded.warnings if w not in errors]

    def problems(self, *, unknown_keys: bool = False) -> list[str]:
        """Everything that makes these settings unusable for a headless command
        (``unknown_keys``: for one that acts on Azure, each unknown key too)."""
        out = [self.loaded.problem] if self.loaded.problem else []
        out += [str(bad) for bad in self.invalid] + self.errors
        if unknown_keys:
            out += [str(u) for u in self.loaded.unknown]
            if self.loaded.unknown_more:
                out.append(
                    f"{self.loaded.path}: {self.loaded.unknown_more:,} more unknown settings"
                )
        return out

    def require_file(self) -> None:
        """``--config FILE`` names a file that is not there: stop (exit 2) rather than run
        on the environment and the defaults (someone else's deployment, at default names)."""
        if self.loaded.exists:
            return
        path = self.loaded.path
        raise WizardError(
            f"the settings file {path} does not exist",
            "check the path given to --config (the wizard, run with it, creates the file). "
            "Nothing was sent to Azure.",
            exit_code=2,
            code=ErrorCode.BAD_SETTINGS,
        )

    def require_valid(self, *, acting: bool = False) -> None:
        """Stop here (exit 2) on any bad value: a headless command never runs on a stand-in.

        ``acting`` (deploy, destroy, trigger, plan): an unknown key stops it too, since the
        default would stand in for what the user meant (``container_grup`` names no group:
        the default one, perhaps someone else's, would be written or deleted).
        """
        problems = self.problems(unknown_keys=acting)
        if not problems:
            return
        path = self.loaded.path
        hints: list[str] = []
        if acting and self.loaded.unknown:
            hints.append(
                f"correct the misspelt or misplaced key in {path} (or delete its line)"
                if len(self.loaded.unknown) == 1
                else f"correct the misspelt or misplaced keys in {path} (or delete their lines)"
            )
        if self.loaded.problem:
            hints.append(
                f"give --config a readable TOML file of at most {MAX_SETTINGS_BYTES:,} bytes, "
                f"or move {path} away to start from the defaults"
            )
        if self.invalid:
            hints.append(
                f"fix the value in {path}, or delete its line to use the default"
                if len(self.invalid) == 1
                else f"fix the values in {path}, or delete their lines to use the defaults"
            )
        if self.errors:
            hints.append("correct the option or environment variable")
        message = (
            problems[0]
            if len(problems) == 1
            else f"{len(problems)} settings are not valid:\n  " + "\n  ".join(problems)
        )
        raise WizardError(
            message,
            "; ".join(hints) + ". Nothing was sent to Azure and the file was not changed.",
            exit_code=2,
            code=ErrorCode.BAD_SETTINGS,
        )


def resolve(
    config: Path | None = None,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Resolved:
    """Settings by precedence: command line > environment > file > default."""
    loaded = load(config)
    settings = loaded.settings.copy()
    prov = settings.provenance
    errors: list[str] = []
    env_map = env_values(os.environ if env is None else env)
    for source, values in (("environment", env_map), ("command line", dict(cli or {}))):
        for key, raw in values.items():
            if raw is None:
                continue
            spec = FIELD_BY_KEY[key]
            origin = spec.flag if source == "command line" else _env_name(spec, env)
            value, reason = coerce(key, raw)
            if reason:
                errors.append(f"{origin} = {raw!r}: {reason}")
                continue
            settings.assign(key, value)
            prov.overrides[key] = origin
            loaded.raw_invalid.pop(key, None)
    invalid: list[BadValue] = []
    for bad in loaded.invalid:
        key = ALIASES.get(bad.key, bad.key)
        if key in prov.overrides:
            loaded.warnings[:] = [
                w for w in loaded.warnings if not w.startswith(f"{bad.where}: {bad.key} = ")
            ]
            loaded.warnings.append(
                f"{bad}: not used, {prov.overrides[key]} gives the value; fix it in the file too"
            )
        else:
            invalid.append(bad)
    return Resolved(settings=settings, loaded=loaded, errors=errors, invalid=invalid)


def _env_name(spec: Field, env: Mapping[str, str] | None) -> str:
    source = os.environ if env is None else env
    return next((n for n in spec.envs if source.get(n, "").strip()), spec.default_env)


def file_data(settings: Settings) -> dict[str, Any]:
    """What saving writes: the file's own values (as written, even refused ones) plus the
    user's answers; never a value from an option or the environment, never a stand-in
    default. Settings built by hand (not loaded) are written whole."""
    prov = settings.provenance
    data = copy.deepcopy(prov.file_data) if prov.tracked else {}
    if not prov.tracked and settings.tags:
        data[TAGS_SECTION] = dict(settings.tags)
    current = settings.as_dict()
    for spec in FIELDS:
        if prov.tracked and spec.key not in prov.answered:
            continue
        section, name = spec.key.split(".")
        table = data.get(section)
        if not isinstance(table, dict):
            table = data[section] = {}
        for old, new in ALIASES.items():
            if new == spec.key:
                table.pop(old.split(".")[1], None)
        table[name] = current[section][name]
    return data


def dumps(settings: Settings) -> str:
    return _render(file_data(settings))


def _render(data: dict[str, Any]) -> str:
    import tomli_w

    try:
        body = tomli_w.dumps(data)
    except RecursionError:
        raise ValueError("the settings file holds a value nested too deeply to write") from None
    if any(s in body for s in redact.known_secrets()):
        # defence in depth: the model has no secret fields, but a pasted key could land in one
        raise ValueError("refusing to write a secret into the settings file")
    return _HEADER + body


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename) with mode 0600; the folder is made 0700.

    Loaded settings with nothing new to write leave the file as it is (comments and all).
    """
    path = Path(path) if path else default_config_path()
    prov = settings.provenance
    data = file_data(settings)
    if prov.tracked and data == prov.file_data:
        return path
    _atomic_write(path, _render(data))
    if prov.tracked:
        _written(settings, data)
    return path


def _written(settings: Settings, data: dict[str, Any]) -> None:
    """The answers are the file's own values from now on."""
    prov = settings.provenance
    prov.file_data = data
    for key in prov.answered:
        section, name = key.split(".")
        prov.file_keys[key] = (section, name)
        prov.invalid.discard(key)
    prov.answered = set()


def settle_unknown(
    settings: Settings, path: Path, unknown: list[UnknownKey], *, rename: bool
) -> dict[str, str]:
    """The wizard's answer to unknown keys: rewrite the settings file with each one renamed
    to the setting it most likely means (``rename``; its value then counts) or dropped.

    A key renamed onto a setting the file already holds replaces its value (said so: the
    user asked for the rename). Returns, per key settled, what became of it.
    """
    prov = settings.provenance
    data = copy.deepcopy(prov.file_data)
    said: dict[str, str] = {}
    for u in unknown:
        section, _, name = u.key.rpartition(".")
        table = data.get(section) if section else data
        if not isinstance(table, dict) or name not in table:
            continue
        if rename and "." not in u.suggestion:
            continue  # nothing to rename it to: left for the user to fix or drop
        raw = table.pop(name)
        if section and not table and section not in SECTIONS:
            data.pop(section)  # a misspelt table emptied
        if not rename:
            said[u.key] = f"dropped {u.key}"
            continue
        key = u.suggestion
        to_section, to_name = key.split(".")
        target = data.setdefault(to_section, {})
        if not isinstance(target, dict):
            said[u.key] = f"dropped {u.key}: [{to_section}] is not a table in the file"
            continue
        old_place = prov.file_keys.get(key)
        replaced = ""
        if old_place is not None and isinstance(data.get(old_place[0]), dict):
            was = data[old_place[0]].pop(old_place[1], None)
            replaced = f" (in place of {shown_raw(was)})"
        target[to_name] = raw
        value, reason = coerce(key, raw)
        prov.file_keys[key] = (to_section, to_name)
        prov.answered.discard(key)
        if reason is None:
            settings.assign(key, value)
            prov.invalid.discard(key)
            said[u.key] = f"{u.key} is now {key}{replaced}"
        else:
            prov.invalid.add(key)
            said[u.key] = f"{u.key} is now {key}{replaced}, but {shown_raw(raw)}: {reason}"
    prov.file_data = data
    merged = file_data(settings)
    _atomic_write(path, _render(merged))
    _written(settings, merged)
    return said


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        os.chmod(
            path, 0o600
        )  # Windows: only the read-only bit is honoured; the profile dir is private
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class RunState:
    """What the last runs did, so a re-run can skip work. Never holds a secret or the webhook URL."""

    image: str = ""
    context_hash: str = ""
    digest: str = ""
    webhook_model_id: str = ""
    webhook_fingerprint: str = (
        ""  # sha256 of the registered URL: tells "changed" without storing it
    )
    #: the container group whose stop after deploy is not done yet: recorded before the create
    #: is sent, cleared once the stop is done; the next run stops a run left going
    stop_pending: str = ""
    #: why it is pending: "interrupted" (the deploy ended before its stop) or "failed"
    stop_pending_why: str = ""
    #: the wizard's "minutes a run takes" (for the cost estimate), as the user typed it last
    run_minutes: str = ""
    #: the container group a resize deleted and did not create again (a failure in between):
    #: until a deploy creates it, a round finds nothing to start
    group_missing: str = ""

    @classmethod
    def load(cls, path: Path, warn: Callable[[str], None] | None = None) -> RunState:
        """The last run's state; a missing one is empty, a broken one too (with a warning):
        it only lets a re-run skip work, so losing it costs a rebuild, never a wrong action."""
        note = warn or logging.getLogger("numerai_aci_wizard").warning
        why = "treated as empty (the next deploy rebuilds it)"
        try:
            data = json.loads(read_limited(path, MAX_STATE_BYTES).decode("utf-8"))
        except FileNotFoundError:
            return cls()
        except Unreadable as exc:
            note(f"the run state {path} cannot be read ({exc}): {why}")
            return cls()
        except (ValueError, RecursionError):
            note(f"the run state {path} is not valid JSON: {why}")
            return cls()
        if not isinstance(data, dict):
            note(f"the run state {path} holds {type(data).__name__} instead of an object: {why}")
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(
            **{
                k: str(v)
                for k, v in data.items()
                if k in names and isinstance(v, str | int) and not isinstance(v, bool)
            }
        )

    def save(self, path: Path) -> None:
        _atomic_write(
            path, json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, indent=2)
        )
