"""Output in a code page that lacks the tool's marks (console.py)."""

from __future__ import annotations

import io

import pytest

from numerai_aci_wizard.console import ERRORS, make_safe


def _stream(encoding: str, errors: str = "strict") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors=errors, write_through=True)


def _written(stream: io.TextIOWrapper) -> bytes:
    stream.flush()
    return stream.buffer.getvalue()  # type: ignore[attr-defined]


def test_a_strict_cp1252_stream_writes_the_marks_in_ascii_and_keeps_what_it_can_hold() -> None:
    stream = _stream("cp1252")
    with pytest.raises(UnicodeEncodeError):  # what a redirected Windows stdout does today
        stream.write("✓ landed\n")
    stream = _stream("cp1252")
    make_safe(stream)
    # the rehearsal's and history's lines (trigger --local, history)
    stream.write("✓ model_a: a valid submission landed\n✗ model_b: no submission landed\n")
    stream.write("… running; café — 漢字\n")
    assert _written(stream).decode("cp1252") == (
        "OK model_a: a valid submission landed\nX model_b: no submission landed\n"
        "… running; café — ??\n"
    )


def test_an_ascii_stream_gets_accents_dropped_and_punctuation_spelled() -> None:
    stream = _stream("ascii")
    make_safe(stream)
    stream.write("… “quoted” café → done ✓\n")
    assert _written(stream) == b'... "quoted" cafe -> done OK\n'


def test_bytes_that_came_in_undecodable_go_out_as_they_came() -> None:
    stream = _stream("ascii", "surrogateescape")
    make_safe(stream)
    stream.write(b"caf\xe9 ok\n".decode("ascii", "surrogateescape"))
    assert _written(stream) == b"caf\xe9 ok\n"


def test_utf8_streams_and_a_users_chosen_error_mode_are_left_alone() -> None:
    utf8 = _stream("utf-8")
    make_safe(utf8)
    assert utf8.errors == "strict"
    chosen = _stream("cp1252", "replace")  # PYTHONIOENCODING=cp1252:replace
    make_safe(chosen)
    assert chosen.errors == "replace"
    strict = _stream("cp1252")
    make_safe(strict)
    assert strict.errors == ERRORS
    make_safe(io.StringIO())  # not a reconfigurable stream: nothing to do, no error
