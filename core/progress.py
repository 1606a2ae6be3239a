"""Progress bars for long operator commands: drawn on a terminal, silent when piped."""

from __future__ import annotations

from tqdm import tqdm


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
