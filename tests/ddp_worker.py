"""One rank of the 2-process training test, started by torchrun: trains from the spec and records which clips this
rank read and the digest of its final weights (the test compares ranks)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from motforge.families.dense import train as trainer
from motforge.training import clips, loop
from motforge.training.clips import SequenceFiles


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    rank = int(os.environ["RANK"])
    seen: list[int] = []
    original_getitem = clips.ClipDataset.__getitem__

    def recording_getitem(self, position):
        seen.append(position + self.start_item)
        return original_getitem(self, position)

    clips.ClipDataset.__getitem__ = recording_getitem
    if spec.get("die_after_checkpoint") and rank == 0:  # a crash right after the first resume checkpoint is written
        original_save = loop.save_checkpoint

        def save_then_die(path, *args, **kwargs):
            original_save(path, *args, **kwargs)
            if path.name == "last.pt":
                os._exit(3)

        loop.save_checkpoint = save_then_die
    sequences = [SequenceFiles(*[Path(p) if p else None for p in files]) for files in spec["sequences"]]
    summary = trainer.train_dense(sequences, spec["model"], spec["bins"], spec["out"], spec["resume"], progress=False)
    record = {
        "rank": rank,
        "items": seen,
        "weights_sha256": summary["weights_sha256"],
        "parameters_sha256": summary["parameters_sha256"],
        "processes": summary["processes"],
        "resumed_from": summary["resumed_from"],
    }
    Path(spec["record"]).with_suffix(f".rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1])
