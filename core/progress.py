"""The progress protocol of long operations: a service takes a progress factory, calls it once per
stage with the stage's total, and updates the bar it gets; the commands' factory draws a tqdm bar
on a terminal and nothing when piped, and `no_progress` (the services' default) draws nothing."""

from __future__ import annotations

from typing import Protocol

from tqdm import tqdm

# Counts of this size and more are shown scaled ("1.2M/3.4M rows"); smaller ones as they are
# ("0/28 tables"), never as "0.00/28.0".
SCALED_FROM = 10_000
# A bar with a total shows the time left only once it has a rate to compute it from.
WITH_TOTAL = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}{eta}]"
WITHOUT_TOTAL = "{desc}: {n_fmt} {unit} [{elapsed}{eta}]"


class Progress(Protocol):
    """A bar: advanced by update(n), finished by close() or by leaving its `with` block."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> object: ...

    def __enter__(self) -> Progress: ...

    def __exit__(self, *exc_info) -> object: ...


class ProgressFactory(Protocol):
    def __call__(self, *, total: int | None, desc: str, unit: str = ...) -> Progress: ...


class TerminalStream:
    """A command's OutputWrapper as a plain file for tqdm: written as given (Django's wrapper
    would end every write with a newline, so that each redraw became a new line) and unstyled
    (stderr's wrapper colours what it writes as an error)."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, style_func=lambda message: message, ending="")

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


class Bar(tqdm):
    """tqdm with whole counts for small totals and no ETA before there is a rate."""

    @property
    def format_dict(self):
        meter = super().format_dict
        rate = meter["rate"] or (meter["n"] / meter["elapsed"] if meter["elapsed"] else 0)
        known = meter["total"] and meter["n"] and rate
        remaining = (meter["total"] - meter["n"]) / rate if known else None
        meter["eta"] = f", {tqdm.format_interval(remaining)} left" if remaining is not None else ""
        meter["bar_format"] = WITH_TOTAL if meter["total"] else WITHOUT_TOTAL
        return meter


def progress_bar(stream, *, total: int | None, desc: str, unit: str = "rows") -> tqdm:
    """A bar redrawn in place on `stream` (a command's self.stderr), disabled unless it is a tty."""
    return Bar(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=total is None or total >= SCALED_FROM,
        file=TerminalStream(stream) if hasattr(stream, "style_func") else stream,
        disable=not stream.isatty(),
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    )


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc_info) -> None:
        pass


def no_progress(*, total: int | None = None, desc: str = "", unit: str = "rows") -> Progress:
    """The progress factory that draws nothing."""
    return _NoBar()
