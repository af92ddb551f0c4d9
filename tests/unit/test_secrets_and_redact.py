"""Secrets: where they come from, what happens when they are missing, and that they never show."""

from __future__ import annotations

import logging
import re

import keyring
import pytest
from keyring.backend import KeyringBackend

from numerai_aci_wizard import redact, secrets
from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.settings import SECRET_FIELDS, Settings

PUBLIC_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
SECRET_KEY = "QWERTYUIOPASDFGHJKLZXCVBNM0123456789QWERTYUIOPASDFGHJKLZXCVBNM01"
ALL = ["numerai_public_id", "numerai_secret_key", "docker_password"]


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps values in memory (the OS ones need a desktop session)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.values.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _clean_redactor():
    redact.forget_all()
    yield
    redact.forget_all()


def test_env_wins_and_pasted_whitespace_is_trimmed() -> None:
    env = {
        "NUMERAI_PUBLIC_ID": f" {PUBLIC_ID}\n",
        "NUMERAI_SECRET_KEY": SECRET_KEY,
        "DOCKER_PASSWORD": "pw12",
    }
    found = secrets.resolve(Settings(), ALL, env=env)
    assert found.secrets.numerai_public_id == PUBLIC_ID
    assert set(found.sources.values()) == {"environment"}
    assert redact.redact(f"id={PUBLIC_ID} pw=pw12") == "id=*** pw=***"


def test_missing_secrets_name_the_variables_and_exit_2() -> None:
    with pytest.raises(WizardError) as info:
        secrets.resolve(Settings(), ALL, env={"NUMERAI_PUBLIC_ID": PUBLIC_ID})
    err = info.value
    assert err.exit_code == 2
    assert "NUMERAI_SECRET_KEY" in err.hint and "DOCKER_PASSWORD" in err.hint
    assert "NUMERAI_PUBLIC_ID" not in err.hint


def test_an_invalid_env_value_is_named() -> None:
    with pytest.raises(
        WizardError, match="NUMERAI_SECRET_KEY is set but invalid: a Numerai secret key has 64"
    ):
        secrets.resolve(Settings(), ALL, env={"NUMERAI_SECRET_KEY": "short"})


def test_prompt_asks_again_with_the_reason() -> None:
    answers = iter(["abc", PUBLIC_ID.lower(), PUBLIC_ID])
    reasons: list[str | None] = []

    def ask(field, reason):
        reasons.append(reason)
        return next(answers)

    found = secrets.resolve(Settings(), ["numerai_public_id"], env={}, prompt=ask)
    assert found.secrets.numerai_public_id == PUBLIC_ID and found.sources == {
        "numerai_public_id": "prompt"
    }
    assert reasons[0] is None and "this has 3" in reasons[1] and "upper case" in reasons[2]


def test_optional_secrets_are_not_asked_for() -> None:
    asked = []
    found = secrets.resolve(
        Settings(),
        [],
        optional=secrets.NUMERAI_KEYS,
        env={},
        prompt=lambda f, r: asked.append(f) or None,
    )
    assert asked == [] and found.secrets.values() == []


def test_which_secrets_each_command_needs() -> None:
    cfg = Settings()
    assert secrets.needed_for("deploy", cfg) == ALL
    cfg.docker.build = False
    assert secrets.needed_for("deploy", cfg) == ALL[:2]  # public image, no username
    cfg.docker.username = "me12"
    assert secrets.needed_for("deploy", cfg) == ALL  # private image
    assert secrets.needed_for("trigger", cfg) == ALL[:2]
    for command in ("plan", "status", "logs", "destroy"):
        assert secrets.needed_for(command, cfg) == []


def test_keyring_opt_in_remembers_and_reads(memory_keyring: MemoryKeyring) -> None:
    cfg = Settings()
    cfg.secrets.keyring = True
    env = {
        "NUMERAI_PUBLIC_ID": PUBLIC_ID,
        "NUMERAI_SECRET_KEY": SECRET_KEY,
        "DOCKER_PASSWORD": "pw12",
    }
    first = secrets.resolve(cfg, ALL, env=env)
    assert "Remembered 3 secrets" in secrets.remember(first.secrets)
    again = secrets.resolve(cfg, ALL, env={})
    assert again.secrets == first.secrets and set(again.sources.values()) == {"keyring"}
    secrets.forget()
    assert memory_keyring.values == {}


def test_keyring_not_consulted_without_opt_in(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(secrets.KEYRING_SERVICE, "numerai_public_id", PUBLIC_ID)
    with pytest.raises(WizardError):
        secrets.resolve(Settings(), ["numerai_public_id"], env={})


def test_no_keyring_backend_says_so_and_falls_back_to_asking() -> None:
    cfg = Settings()
    cfg.secrets.keyring = True
    found = secrets.resolve(cfg, ["numerai_public_id"], env={}, prompt=lambda f, r: PUBLIC_ID)
    assert found.sources == {"numerai_public_id": "prompt"}
    assert found.notes == [
        "Keyring: no OS keyring is available on this machine; secrets will be asked for instead."
    ]
    assert secrets.remember(found.secrets).startswith("Not remembered")


def test_secret_fields_have_env_names_of_the_design() -> None:
    assert [f.env for f in SECRET_FIELDS] == [
        "NUMERAI_PUBLIC_ID",
        "NUMERAI_SECRET_KEY",
        "DOCKER_PASSWORD",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://prod-12.eastus.logic.azure.com:443/workflows/abc/triggers/request/paths/invoke"
        "?api-version=2016-10-01&sp=%2Ftriggers%2Frequest%2Frun&sv=1.0&sig=AbC123-_xyz",
        "https://x/invoke?sig=AbC123-_xyz&sv=1.0",
        '{"value": "https://x/invoke?api-version=1&sig=AbC123-_xyz"}',
    ],
)
def test_webhook_signature_is_masked(url: str) -> None:
    out = redact.redact(url)
    assert "AbC123-_xyz" not in out and "sig=***" in out


def test_auth_headers_are_masked() -> None:
    assert "SECRETPART" not in redact.redact("Authorization: Token PUBLICPART$SECRETPART")


def test_logging_filter_masks_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redact.register(SECRET_KEY)
    logger = logging.getLogger("test.redact")
    handler = redact.install_on(logging.StreamHandler())
    caplog.handler.addFilter(redact.RedactingFilter())
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("key %s and url %s", SECRET_KEY, "https://h/x?sig=abcdef")
            try:
                raise RuntimeError(f"failed with {SECRET_KEY}")
            except RuntimeError:
                logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    assert SECRET_KEY not in caplog.text and "abcdef" not in caplog.text
    assert "key *** and url https://h/x?sig=***" in caplog.text


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:", b'{"auth":"x'])
def test_base64_forms_of_a_secret_are_masked_at_any_alignment(prefix: bytes) -> None:
    import base64

    secret = "hub-password-1"
    redact.register(secret)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        blob = encode(prefix + secret.encode() + b"tail").decode()
        masked = redact.redact(f"registry said: {blob}")
        assert "***" in masked
        # what is left, decoded at any alignment, gives away no 4 bytes of the secret
        pieces = {secret.encode()[i : i + 4] for i in range(len(secret) - 3)}
        for part in re.findall(r"[A-Za-z0-9+/_-]{4,}", masked):
            for cut in range(4):
                chunk = part[cut:][: (len(part) - cut) // 4 * 4]
                decoded = base64.b64decode(chunk.replace("-", "+").replace("_", "/"))
                assert not any(p in decoded for p in pieces), (blob, masked)


def test_url_encoded_forms_and_basic_headers_are_masked() -> None:
    from urllib.parse import quote, quote_plus

    secret = "s3cr3t/key+with space&more"
    redact.register(secret)
    for form in (quote(secret, safe=""), quote_plus(secret, safe="")):
        assert form not in redact.redact(f"GET /x?key={form}&y=1")
    assert redact.redact("Authorization: Basic dXNlcjpwYXNzd29yZA==") == "Authorization: Basic ***"


def test_short_values_are_not_expanded_into_forms_that_hit_ordinary_text() -> None:
    redact.register("abcd")
    assert (
        redact.redact("YWJjZA is base64 of it, left alone") == "YWJjZA is base64 of it, left alone"
    )


# --- issue 19, point 4: text from outside is shown, never executed ----------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]52;c;cHduZWQ=\x07", "\\x1b]52;c;cHduZWQ=\\x07"),  # OSC 52: writes the clipboard
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen, cursor home
        ("\x9b31m", "\\x9b31m"),  # C1 CSI in one character
        ("ok\u202etxt.exe", "ok\\u202etxt.exe"),  # right-to-left override
        ("a\x00b\x7fc", "a\\x00b\\x7fc"),
        ("progress 10%\rprogress 90%\r\ndone", "progress 10%\nprogress 90%\ndone"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("é ü 数据", "é ü 数据"),
    ],
)
def test_control_characters_are_written_out(raw: str, shown: str) -> None:
    assert redact.escape_controls(raw) == shown


def test_shown_escapes_and_masks() -> None:
    redact.register("s3cr3t-value-123")
    assert redact.shown("key=s3cr3t-value-123\x1b[2J") == "key=***\\x1b[2J"


def test_every_cli_line_and_warning_is_sanitized(capsys: pytest.CaptureFixture[str]) -> None:
    from numerai_aci_wizard.commands import EventPrinter, Output
    from numerai_aci_wizard.events import LogLine, WizardError

    out = Output(json_mode=False)
    EventPrinter(out)(LogLine("start", "container says \x1b]52;c;eA==\x07"))  # trigger follows
    out.warn("numerai said \x1b[2J")
    out.error(WizardError("ARM said \x9b31m", "hint \x07"))
    printed = capsys.readouterr()
    assert "\\x1b]52;c;eA==\\x07" in printed.out
    assert "\\x1b[2J" in printed.err and "\\x9b31m" in printed.err and "\\x07" in printed.err
    assert not any(c in printed.out + printed.err for c in "\x1b\x07\x9b")


def test_the_json_error_object_is_the_errors_dict_with_secrets_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from numerai_aci_wizard.commands import Output
    from numerai_aci_wizard.events import ErrorCode

    redact.register("json-s3cr3t-456")
    error = WizardError(
        "ARM said key=json-s3cr3t-456 \x1b[2J",
        "see https://x/?sig=abc123",
        exit_code=2,
        code=ErrorCode.MISSING_SECRET,
    )
    Output(json_mode=True).error(error)
    printed = capsys.readouterr()
    body = json.loads(printed.out)["error"]
    assert body.keys() == error.to_dict().keys()
    assert body["code"] == "missing_secret"
    assert body["message"] == "ARM said key=*** \\x1b[2J"
    assert "abc123" not in body["hint"] and "abc123" not in printed.err
    assert "json-s3cr3t-456" not in printed.out + printed.err
