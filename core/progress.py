"""The progress protocol of long operations: a service takes a progress factory, calls it once per
stage with the stage's total, and updates the bar it gets; the commands' factory draws a tqdm bar
on a terminal and nothing when piped, and `no_progress` (the services' default) draws nothing."""

from __future__ import annotations

from typing import Protocol

from tqdm import tqdm


class Progress(Protocol):
    """A bar: advanced by update(n), finished by close() or by leaving its `with` block."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> object: ...

    def __enter__(self) -> Progress: ...

    def __exit__(self, *exc_info) -> object: ...


class ProgressFactory(Protocol):
    def __call__(self, *, total: int | None, desc: str, unit: str = ...) -> Progress: ...


def progress_bar(stream, *, total: int | None, desc: str, unit: str = "rows") -> tqdm:
    """A tqdm bar writing to `stream` (a command's self.stderr), disabled unless it is a tty."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        file=stream,
        disable=not stream.isatty(),
        leave=False,
        dynamic_ncols=True,
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
