"""Where the tool keeps its files: the OS's own user folders, or one folder the user names.

platformdirs gives each OS its place (Linux: XDG; macOS: ~/Library/Application Support,
~/Library/Caches; Windows: %APPDATA%, %LOCALAPPDATA%). ``NUMERAI_ACI_HOME``, when set,
holds all of them instead (``config/``, ``state/``, ``cache/``) on every OS: a portable
install, a second identity, a test's isolation. It honours no XDG variable off Linux, so
this is the one override that works the same everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "numerai-aci-wizard"
HOME_ENV = "NUMERAI_ACI_HOME"


def _home() -> Path | None:
    home = os.environ.get(HOME_ENV, "").strip()
    return Path(home).expanduser() if home else None


def config_dir() -> Path:
    """The settings file's folder."""
    if (home := _home()) is not None:
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False, roaming=True)


def state_dir() -> Path:
    """Run state, the run lock, the log file, the Azure sign-in record."""
    if (home := _home()) is not None:
        return home / "state"
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


def cache_dir() -> Path:
    """What can be fetched again (the price table)."""
    if (home := _home()) is not None:
        return home / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME, appauthor=False)
