"""Small pieces that make the same tool behave on Windows and macOS: timed waits, the
signals that end a run, the Azure CLI's name, hints written for the user's OS."""

from __future__ import annotations

import os
import stat
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from numerai_aci_wizard import waits
from numerai_aci_wizard.commands import terminating_signals
from numerai_aci_wizard.services.azure_auth import az_cloud, az_executable
from numerai_aci_wizard.services.docker_errors import daemon_error


def test_timed_waits_give_what_the_plain_ones_give() -> None:
    gate = threading.Event()
    thread = threading.Thread(target=gate.wait)
    thread.start()
    threading.Timer(0.3, gate.set).start()  # longer than one slice
    waits.join(thread)
    assert not thread.is_alive()

    with ThreadPoolExecutor(1) as pool:
        assert waits.result(pool.submit(lambda: gate.wait() and 42)) == 42
        with pytest.raises(ZeroDivisionError):
            waits.result(pool.submit(lambda: 1 / 0))

    def lines():  # a stream that pauses longer than a slice between items
        yield "a"
        gate.clear()
        threading.Timer(0.3, gate.set).start()
        gate.wait()
        yield "b"
        raise ConnectionError("the engine went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        for line in waits.iterate(lines()):
            seen.append(line)
    assert seen == ["a", "b"]
    assert waits.call(lambda: {"StatusCode": 0}) == {"StatusCode": 0}


def test_sigbreak_ends_a_run_like_sigterm_where_windows_has_it() -> None:
    import signal

    windows_signal = types.SimpleNamespace(SIGTERM=15, SIGBREAK=21, SIGINT=2)
    assert terminating_signals(windows_signal) == [15, 21]
    assert terminating_signals(types.SimpleNamespace(SIGTERM=15)) == [15]
    assert terminating_signals() == [signal.SIGTERM] + (
        [signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else []  # type: ignore[attr-defined]
    )


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.linux_only  # executable scripts stand in for az and az.cmd
def test_on_windows_az_is_az_cmd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    posix = _executable(tmp_path / "az", "#!/bin/sh\n")
    cmd = _executable(tmp_path / "az.cmd", "#!/bin/sh\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert az_executable(windows=True) == str(cmd)
    assert az_executable(windows=False) == str(posix)
    cmd.unlink()
    assert az_executable(windows=True) == str(posix)  # an az without .cmd, as azure-identity


@pytest.mark.linux_only  # file descriptor 0 swapped for a pipe, the null device by its stat
def test_az_never_reads_the_terminal(az_cli_login, monkeypatch: pytest.MonkeyPatch) -> None:
    read, write = os.pipe()  # stands in for the wizard's terminal: az must not inherit it
    saved = os.dup(0)
    os.dup2(read, 0)
    try:
        assert az_cloud() == "AzureCloud"
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read, write):
            os.close(fd)
    assert az_cli_login.stdins() == [(["cloud", "show"], "devnull")]


@pytest.mark.parametrize(
    ("platform", "told", "not_told"),
    [
        ("win32", "docker-users", "sudo"),
        ("darwin", "Restart Docker Desktop", "sudo"),
        ("linux", "sudo usermod -aG docker", "docker-users"),
    ],
)
def test_a_refused_docker_socket_is_explained_for_the_users_os(
    platform: str, told: str, not_told: str
) -> None:
    text = (
        "Error while fetching server API version: (5, 'CreateFile', 'Access is denied.')"
        if platform == "win32"
        else "Error while fetching server API version: ('Connection aborted.', "
        "PermissionError(13, 'Permission denied'))"
    )
    error = daemon_error(text, "", platform)
    assert error.exit_code == 2 and told in error.hint and not_told not in error.hint
    assert "&&" not in error.hint


def test_no_hint_chains_commands_with_a_posix_only_operator() -> None:
    """`a && b` fails in Windows PowerShell 5.1: hints say "then" instead."""
    root = Path(__file__).resolve().parents[2] / "numerai_aci_wizard"
    offenders = [
        f"{p.relative_to(root)}:{n}"
        for p in root.rglob("*.py")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if "&&" in line and not line.lstrip().startswith("#")
    ]
    assert offenders == []
