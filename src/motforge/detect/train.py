"""Train an Ultralytics detector on an exported dataset (a GPU job on clusters); nothing is downloaded, and starting
weights are unpickled only in Ultralytics' safe-loading mode (see ultralytics_backend.import_ultralytics)."""

from __future__ import annotations

import shutil
from pathlib import Path

from motforge.detect.ultralytics_backend import import_ultralytics, open_model
from motforge.errors import MissingWeightsError
from motforge.io.atomic import atomic_path


def train_ultralytics(data_yaml: str | Path, settings: dict, out: str | Path, device: str = "cpu") -> Path:
    """Train from ``settings['model']`` (a model YAML such as yolov8n.yaml for random init, or a local .pt to
    fine-tune) and put ``best.pt`` into ``out``."""
    model_name = str(settings["model"])
    if model_name.endswith(".pt") and not Path(model_name).is_file():
        raise MissingWeightsError(
            f"starting weights not found: {model_name} (use a model YAML for random initialisation)"
        )
    import_ultralytics()
    from ultralytics import YOLO

    out = Path(out)
    with atomic_path(out, directory=True) as tmp:
        model = open_model(YOLO, model_name, "config key 'detector.train.model'")
        model.train(
            data=str(data_yaml),
            epochs=int(settings["epochs"]),
            imgsz=int(settings["imgsz"]),
            batch=int(settings["batch"]),
            device=device,
            project=str(tmp),
            name="run",
            exist_ok=True,
            plots=False,
            amp=False,
            workers=int(settings.get("workers", 2)),
            verbose=False,
            val=bool(settings.get("val", True)),
        )
        run = tmp / "run" / "weights"
        best = run / "best.pt" if (run / "best.pt").is_file() else run / "last.pt"
        shutil.copyfile(best, tmp / "best.pt")
    return out / "best.pt"
