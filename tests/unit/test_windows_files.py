"""Files as Windows users' tools write them: Windows paths in the settings file, and
UTF-16 / BOM'd / CRLF files from PowerShell and Notepad."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from numerai_aci_wizard import store
from numerai_aci_wizard.cli import main
from numerai_aci_wizard.services import docker_image
from numerai_aci_wizard.textfiles import decode

HEAD = '[azure]\nlocation = "eastus"\n[docker]\nimage = "me/predict:latest"\n'


def _settings_file(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HEAD + line + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("written", "why"),
    [
        # invalid TOML: \U wants eight hex digits (tomllib: "Unescaped '\' in a string")
        (r'context = "C:\Users\me\model"', r"\U is not a valid escape"),
        # valid TOML that silently means something else: C:<tab>mp\model
        (r'context = "C:\tmp\model"', r"\t turns into a tab"),
        (r'context = "\\server\share\model"', r"\s is not a valid escape"),
        (r'context = "..\models"', r"\m is not a valid escape"),
    ],
)
def test_a_windows_path_in_double_quotes_names_the_line_and_how_to_write_it(
    tmp_path: Path, written: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _settings_file(tmp_path, written)
    loaded = store.load(path)
    assert loaded.error is not None
    assert f"{path}, line 5" in loaded.error and why in loaded.error
    value = written.split('"')[1]
    assert f"'{value}'" in loaded.error  # single quotes: a literal string, as typed
    assert '"' + value.replace("\\", "/") + '"' in loaded.error  # or forward slashes

    # a headless command stops there (exit 2), before anything else
    assert main(["plan", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "single quotes" in err and "line 5" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "written",
    [
        r"context = 'C:\Users\me\model'",  # single quotes: taken as typed
        r'context = "C:\\Users\\me\\model"',  # escaped as TOML wants
    ],
)
def test_a_windows_path_written_the_toml_way_loads_as_typed(tmp_path: Path, written: str) -> None:
    loaded = store.load(_settings_file(tmp_path, written))
    assert loaded.error is None
    # taken whole, as typed (the folder does not exist on this machine: that is all it says)
    (bad,) = loaded.invalid
    assert bad.key == "docker.context" and bad.raw == r"C:\Users\me\model"
    assert bad.reason == r"the folder C:\Users\me\model does not exist"


def test_forward_slashes_and_ordinary_backslash_escapes_are_left_alone(tmp_path: Path) -> None:
    loaded = store.load(_settings_file(tmp_path, 'context = "C:/Users/me/model"'))
    assert loaded.error is None and [b.raw for b in loaded.invalid] == ["C:/Users/me/model"]
    # a backslash in a value that is no path is TOML's business, not this check's
    loaded = store.load(_settings_file(tmp_path, 'base_image = "python\\u003a3.12"'))
    assert loaded.error is None and loaded.settings.docker.base_image == "python:3.12"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_a_settings_file_saved_by_powershell_loads(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HEAD.replace("\n", "\r\n"), encoding=encoding)  # utf-16 writes its BOM
    loaded = store.load(path)
    assert loaded.error is None
    assert loaded.settings.docker.image == "me/predict:latest"


# --- .dockerignore -----------------------------------------------------------------------


def _context(folder: Path, dockerignore: bytes | None) -> Path:
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "predict.py").write_text("print(1)\n")
    (folder / "cache").mkdir()
    (folder / "cache" / "big.bin").write_bytes(b"x" * 100)
    (folder / "run.log").write_text("noise\n")
    if dockerignore is not None:
        (folder / ".dockerignore").write_bytes(dockerignore)
    return folder


IGNORE = "# PowerShell wrote this\ncache/\n*.log\n"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        # Windows PowerShell 5.1: `"cache/" > .dockerignore` (UTF-16 LE with a BOM, CRLF)
        ("utf16-bom", IGNORE.replace("\n", "\r\n").encode("utf-16")),
        ("utf16-no-bom", IGNORE.encode("utf-16-le")),
        ("utf16-be", codecs.BOM_UTF16_BE + IGNORE.encode("utf-16-be")),
        # Out-File -Encoding utf8 in 5.1, Notepad's "UTF-8 with BOM"
        ("utf8-bom", codecs.BOM_UTF8 + IGNORE.replace("\n", "\r\n").encode()),
    ],
    ids=lambda value: value if isinstance(value, str) else "bytes",  # the name says which
)
def test_a_dockerignore_from_powershell_excludes_what_it_says(
    tmp_path: Path, name: str, data: bytes
) -> None:
    plain = _context(tmp_path / "plain", IGNORE.encode())
    windows = _context(tmp_path / name, data)
    assert docker_image._dockerignore_patterns(windows) == ["cache/", "*.log"]
    # the same files count as with a plain UTF-8 file (the .dockerignore's own bytes aside)
    (windows / ".dockerignore").write_bytes(IGNORE.encode())
    same = docker_image.context_hash(windows)
    (windows / ".dockerignore").write_bytes(data)
    assert docker_image.context_hash(plain) == same


def test_decode_reads_what_windows_tools_write() -> None:
    assert decode("café\n".encode("utf-16")) == "café\n"
    assert decode(codecs.BOM_UTF8 + "café".encode()) == "café"
    assert decode("café".encode("cp1252")) == "café"  # an ANSI editor's file
    assert decode(b"plain") == "plain"
