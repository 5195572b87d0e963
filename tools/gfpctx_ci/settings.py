"""What a user sets, checked before anything is built: environment
knobs, --env words, test names. A bad value is a SettingsError, one
line naming the value and what is wanted (exit status 2)."""
from __future__ import annotations

import os
import re
from pathlib import Path


class SettingsError(ValueError):
    """A bad settings value: one line for the user."""


def os_error(err: OSError) -> str:
    """An OSError as one line: the file and the reason."""
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}"


# Test knobs a run may pass to the guest's tests: the kernel hands
# name=value words it does not know to init's environment.
ENV_NAME = re.compile(r"^GFPCTX_[A-Z0-9_]+$")
ENV_VALUE = re.compile(r"^[A-Za-z0-9_.,:+-]*$")


def parse_env(words: list[str] | None) -> tuple[str, ...]:
    """--env NAME=VALUE words, checked: GFPCTX_* names, plain values."""
    for word in words or []:
        name, eq, value = word.partition("=")
        if not eq or not ENV_NAME.match(name) or not ENV_VALUE.match(value):
            raise SettingsError(f"--env {word!r}: want GFPCTX_NAME=value, the value "
                                "of letters, digits and _.,:+-")
    return tuple(words or ())


def select_tests(available: list[str], wanted: str | None) -> list[str]:
    """The tests of a --tests list (all when None), each one of available."""
    if not wanted:
        return available
    chosen = [t.strip() for t in wanted.split(",") if t.strip()]
    unknown = [t for t in chosen if t not in available]
    if unknown or not chosen:
        raise SettingsError(f"--tests {wanted!r}: unknown test(s) "
                            f"{', '.join(unknown) or '(none named)'}; "
                            f"the target has: {', '.join(available)}")
    return chosen


ACCEL_VALUES = ("kvm", "tcg")


def accel_env() -> str | None:
    """GFPCTX_ACCEL: "kvm" or "tcg" forces the accelerator; unset or empty,
    the runner chooses."""
    value = os.environ.get("GFPCTX_ACCEL") or None
    if value is not None and value not in ACCEL_VALUES:
        raise SettingsError(f"GFPCTX_ACCEL={value!r}: want {' or '.join(ACCEL_VALUES)}, "
                            "or unset to let the runner choose")
    return value


def cache_env() -> Path:
    """The kernel cache: GFPCTX_CACHE (made absolute), else ~/.cache/gfpctx."""
    value = os.environ.get("GFPCTX_CACHE")
    if value is None:
        return Path.home() / ".cache" / "gfpctx"
    if not value.strip():
        raise SettingsError("GFPCTX_CACHE is empty: want a directory, or unset for "
                            "~/.cache/gfpctx")
    return Path(value).resolve()
