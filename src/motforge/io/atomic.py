"""Write-then-rename helpers: a killed job never leaves an output that looks finished.

Every stage writes into a temporary sibling of its output (same filesystem, so the final rename is atomic) and
renames it into place only after the content is complete. On any exception the temporary path is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def remove_path(path: Path) -> None:
    """Remove a file, link or folder if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(final: str | Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it onto ``final`` when the block exits cleanly.

    With ``directory=True`` the temporary path is created as an empty directory (for zarr stores and dataset
    folders); otherwise nothing is created and the caller writes a file there.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}.tmp-"
    for stale in final.parent.glob(f"{prefix}*"):  # left by a killed run of this same output
        remove_path(stale)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=final.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.unlink()
    try:
        yield tmp
    except BaseException:
        remove_path(tmp)
        raise
    if not tmp.exists():
        raise FileNotFoundError(f"{tmp}: the stage finished without writing its output")
    if final.exists() or final.is_symlink():
        remove_path(final)
    os.replace(tmp, final)


def save_figure_atomic(fig, final: str | Path, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG completely or not at all."""
    with atomic_path(final) as tmp:
        png = tmp.with_suffix(".png")
        fig.savefig(png, dpi=dpi)
        png.rename(tmp)


def write_text_atomic(final: str | Path, text: str) -> None:
    """Write a small text file completely or not at all."""
    with atomic_path(final) as tmp:
        tmp.write_text(text)
