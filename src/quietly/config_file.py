"""Where settings come from: a TOML config file, then environment variables over it.

The file is the first of: ``quietly --config FILE``, ``$QUIETLY_CONFIG``, the user's
``$XDG_CONFIG_HOME/quietly/config.toml`` (``~/.config/…``), the system's
``/etc/quietly/config.toml``. A file named by ``--config`` or ``$QUIETLY_CONFIG`` must exist;
the usual locations are used when present. Keys are the setting names in lower case
(``port = 9090``, ``database_url = "postgresql://…"``); an unknown key is an error, not
silently ignored. ``QUIETLY_*`` environment variables override the file.

The data directory, when nothing sets it, no longer depends on the working directory:
systemd's ``$STATE_DIRECTORY``, else ``$XDG_DATA_HOME/quietly`` (``~/.local/share/quietly``).

Errors::

    ConfigFileError     the file is missing, unreadable, not TOML, or names an unknown
                        setting; ``str(exc)`` starts with the file's path
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = ["CONFIG_ENV", "ConfigFileError", "TomlSource", "config_file", "default_data_dir",
           "file_values", "set_config_override"]

CONFIG_ENV = "QUIETLY_CONFIG"
_override: Path | None = None


class ConfigFileError(Exception):
    pass


def set_config_override(path: Path | None) -> None:
    """``quietly --config FILE``: use this file whatever the environment says."""
    global _override
    _override = path


def _usual_locations() -> list[Path]:
    user = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [user / "quietly" / "config.toml", Path("/etc/quietly/config.toml")]


def config_file() -> Path | None:
    """The config file in force, or None; raises ConfigFileError for a named missing one."""
    named = _override or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if named is not None:
        if not named.is_file():
            raise ConfigFileError(f"{named}: no such config file (from "
                                  f"{'--config' if _override else CONFIG_ENV})")
        return named
    return next((p for p in _usual_locations() if p.is_file()), None)


def file_values(path: Path, known: set[str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigFileError(f"{path}: unknown setting {unknown[0]!r} (settings are the "
                              "QUIETLY_* names in lower case, without the prefix)")
    return data


def default_data_dir() -> Path:
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "quietly"


class TomlSource(PydanticBaseSettingsSource):
    """The config file's values, below init arguments and environment variables."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = config_file()
        self.values = file_values(path, set(settings_cls.model_fields)) if path else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)
