"""Reading settings from the environment: first name set wins, errors name the variable."""

from __future__ import annotations

from collections.abc import Mapping


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable, never its value."""


def first(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip() != "":
            return name, value.strip()
    return None


def text(env: Mapping[str, str], default: str, *names: str) -> str:
    found = first(env, *names)
    return found[1] if found else default


def optional(env: Mapping[str, str], *names: str) -> str | None:
    found = first(env, *names)
    return found[1] if found else None


def env_int(env: Mapping[str, str], default: int, *names: str) -> int:
    found = first(env, *names)
    if found is None:
        return default
    try:
        return int(found[1])
    except ValueError:
        raise SettingsError(f"{found[0]} must be a whole number") from None


def env_float(env: Mapping[str, str], default: float, *names: str) -> float:
    found = first(env, *names)
    if found is None:
        return default
    try:
        return float(found[1])
    except ValueError:
        raise SettingsError(f"{found[0]} must be a number") from None


def env_bool(env: Mapping[str, str], default: bool, *names: str) -> bool:
    found = first(env, *names)
    if found is None:
        return default
    value = found[1].lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{found[0]} must be true or false")
