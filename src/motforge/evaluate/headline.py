"""The headline metrics file (hota.txt): one header line and one line of COMBINED values."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from motforge.errors import InputError
from motforge.io.atomic import write_text_atomic


@dataclass(frozen=True)
class Headline:
    """COMBINED-row metrics in percent (IDSW is a count)."""

    HOTA: float
    DetA: float
    AssA: float
    IDF1: float
    MOTA: float
    IDSW: int

    def lines(self) -> str:
        names = [f.name for f in fields(self)]
        values = [f"{getattr(self, n):.3f}" if n != "IDSW" else str(int(self.IDSW)) for n in names]
        return " ".join(names) + "\n" + " ".join(values) + "\n"

    def write(self, path: str | Path) -> None:
        write_text_atomic(path, self.lines())

    @classmethod
    def read(cls, path: str | Path) -> Headline:
        text = Path(path).read_text().split("\n")
        names = text[0].split()
        if names != [f.name for f in fields(cls)] or len(text) < 2:
            raise InputError(path, "not a motforge headline file (header HOTA DetA AssA IDF1 MOTA IDSW)", 1)
        values = text[1].split()
        parsed = {n: (int(v) if n == "IDSW" else float(v)) for n, v in zip(names, values)}
        return cls(**parsed)
