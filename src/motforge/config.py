"""Load and validate config.yaml against the JSON schema, filling defaults, before any job starts.

Errors name the key path (``datasets.synthdance.detector.backend``) so a typo fails at parse time, not an hour into
a teacher job. Cross-field checks that a schema cannot express (a default model that is not configured, a missing
dataset root) live here too.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from motforge.errors import ConfigError


def _resolve(schema: dict, root: dict) -> dict:
    """Merge a local ``$ref`` (``#/$defs/name``) with its sibling keys."""
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref supported in the config schema, got {ref}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    """Insert schema defaults into ``instance`` depth-first (objects created from defaults are filled too)."""
    schema = _resolve(schema, root)
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        sub_resolved = _resolve(sub, root)
        if key not in instance and "default" in sub_resolved:
            instance[key] = copy.deepcopy(sub_resolved["default"])
        if key in instance:
            _fill_defaults(instance[key], sub_resolved, root)
    for branch in schema.get("allOf", []):
        condition = branch.get("if")
        if condition is not None and jsonschema.Draft202012Validator({**condition, "$defs": root.get("$defs", {})}).is_valid(instance):
            _fill_defaults(instance, branch.get("then", {}), root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in properties:
                _fill_defaults(value, extra, root)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        unknown = [k for k in error.instance if repr(k) in error.message or f"'{k}'" in error.message]
        if not unknown:
            allowed = set(error.schema.get("properties", {}))
            unknown = [k for k in error.instance if k not in allowed]
        if unknown:
            parts.append(unknown[0])
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    return ".".join(parts) or "<top level>"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        return "unknown key (check its spelling; allowed keys are listed in workflow/schemas/config.schema.yaml)"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return error.message


#: defaults that depend on the dataset format (FDTA's per-benchmark settings; synthdance ships its own depth)
FORMAT_DEFAULTS: dict[str, dict] = {
    "sportsmot": {"labels": {"depth_bins": {"fg_weight": 7}}},
    "bft": {"labels": {"depth_bins": {"num_bins": 120, "fg_weight": 10}}},
    "synthdance": {
        "depth": {"backend": "provided", "cache_short_side": 180},
        "masks": {"backend": "grabcut", "mask_short_side": 360},
        "labels": {"depth_bins": {"train_short_side": 360}},
    },
}


def _merge_under(values: dict, defaults: dict) -> None:
    """Insert ``defaults`` where ``values`` says nothing (user values win)."""
    for key, default in defaults.items():
        if key not in values:
            values[key] = copy.deepcopy(default)
        elif isinstance(values[key], dict) and isinstance(default, dict):
            _merge_under(values[key], default)


def _resolve_extends(models: dict) -> None:
    """``extends: <model>`` gives a model every setting of that model it does not set itself (e.g. another seed of
    the default model without copying its block); resolved before validation, so the result is an ordinary model."""
    def resolve(name: str, chain: tuple[str, ...]) -> dict:
        model = models[name]
        base = model.get("extends") if isinstance(model, dict) else None
        if base is None:
            return model
        if base not in models:
            raise ConfigError(f"models.{name}.extends", f"model {base!r} is not defined under models")
        if base in chain:
            raise ConfigError(f"models.{name}.extends", f"models extend each other in a cycle: {' -> '.join(chain + (base,))}")
        del model["extends"]
        _merge_under(model, resolve(base, chain + (base,)))
        return model

    for name in list(models):
        resolve(name, (name,))


def validate_config(config: dict, schema_path: str | Path, base_dir: str | Path = ".") -> dict:
    """Validate ``config`` in place, fill defaults, run cross-field checks; return it."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    if isinstance(config.get("models"), dict):
        _resolve_extends(config["models"])
    for ds in (config.get("datasets") or {}).values():
        if isinstance(ds, dict) and ds.get("gt_splits") == [] and "eval_split" not in ds:
            ds["eval_split"] = None  # no GT: nothing to evaluate (the schema's default 'val' does not apply)
        if isinstance(ds, dict) and ds.get("format") in FORMAT_DEFAULTS:
            _merge_under(ds, FORMAT_DEFAULTS[ds["format"]])
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(list(e.absolute_path)), str(list(e.absolute_path))))
    if errors:
        raise ConfigError(_key_path(errors[0]), _message(errors[0]))
    _fill_defaults(config, schema, schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: len(list(e.absolute_path)))
    if errors:
        raise ConfigError(_key_path(errors[0]), _message(errors[0]))
    _cross_checks(config, Path(base_dir))
    return config


def _cross_checks(config: dict, base_dir: Path) -> None:
    models = config["models"]
    for name, ds in config["datasets"].items():
        key = f"datasets.{name}"
        if ds["eval_split"] is None:
            if ds["gt_splits"]:
                raise ConfigError(f"{key}.eval_split", f"is null, but gt_splits {ds['gt_splits']} have ground truth")
        elif ds["eval_split"] not in ds["splits"]:
            raise ConfigError(f"{key}.eval_split", f"{ds['eval_split']!r} is not among splits {ds['splits']}")
        elif ds["eval_split"] not in ds["gt_splits"]:
            raise ConfigError(f"{key}.eval_split", f"{ds['eval_split']!r} has no ground truth (not in gt_splits)")
        if ds["format"] == "video" and ds["eval_split"] not in (None, ds["splits"][0]):
            first = ds["splits"][0]
            raise ConfigError(f"{key}.eval_split", f"every video is in the first split {first!r}; evaluate that")
        for i, model in enumerate(ds["models"]):
            if model not in models:
                raise ConfigError(f"{key}.models[{i}]", f"model {model!r} is not defined under models")
        if ds["default_model"] not in ds["models"]:
            raise ConfigError(f"{key}.default_model", f"{ds['default_model']!r} is not in {key}.models {ds['models']}")
        if ds["format"] == "synthdance":
            lo, hi = ds["synth"]["dancers"]
            if lo > hi:
                raise ConfigError(f"{key}.synth.dancers", f"minimum {lo} is larger than maximum {hi}")
            if ds["annotation_only"]:
                raise ConfigError(f"{key}.annotation_only", "synthdance is generated with images; annotation_only makes no sense")
        else:
            root = base_dir / ds["root"]
            if ds["format"] == "video" and root.is_file():
                pass  # one video file is a dataset of one sequence
            elif not root.is_dir():
                raise ConfigError(f"{key}.root", f"folder {str(root)!r} does not exist")
            for split, seqmap in ds["seqmaps"].items():
                if not (base_dir / seqmap).is_file():
                    raise ConfigError(f"{key}.seqmaps.{split}", f"file {seqmap!r} does not exist")
        _check_depth(name, ds, base_dir, config["allow_downloads"])
        _check_masks(name, ds, base_dir)
        _check_detector(name, ds, base_dir)
        bins = ds["labels"]["depth_bins"]
        if not bins["d_min"] < bins["d_max"]:
            raise ConfigError(f"{key}.labels.depth_bins.d_min", f"{bins['d_min']} must be below d_max {bins['d_max']}")
        if ds["annotation_only"] and ds["models"] != []:
            needs_images = [m for m in ds["models"] if models[m]["family"] != "oracle"]
            if needs_images:
                raise ConfigError(f"{key}.models", f"annotation_only datasets have no images to run {needs_images} on")
    for name, ds in config["datasets"].items():
        for model_name in ds["models"]:
            model = models[model_name]
            if model["family"] != "dense":
                continue
            key = f"models.{model_name}.components"
            if model["components"]["spatial_adapter"] and ds["depth"]["backend"] == "none":
                raise ConfigError(f"{key}.spatial_adapter", f"needs depth labels, but datasets.{name}.depth.backend is none")
            if model["components"]["instance_depth"] and ds["masks"]["backend"] == "none":
                raise ConfigError(f"{key}.instance_depth", f"needs instance-depth labels, but datasets.{name}.masks.backend is none")
            if "train" not in ds["splits"] or "train" not in ds["gt_splits"]:
                raise ConfigError(f"datasets.{name}.splits", f"model {model_name!r} trains on the train split, which must be listed with GT")
            if model["histogram_bins"] != ds["labels"]["instance_depth"]["histogram_bins"]:
                raise ConfigError(f"models.{model_name}.histogram_bins", f"differs from datasets.{name}.labels.instance_depth.histogram_bins")
    for name, model in models.items():
        if model.get("family") == "dense" and model["pretrained"] and not (base_dir / model["pretrained"]).is_file():
            raise ConfigError(f"models.{name}.pretrained", f"backbone weights {model['pretrained']!r} not found")
        if model.get("family") == "bytetrack" and model["track_low"] > model["track_high"]:
            raise ConfigError(f"models.{name}.track_low", f"{model['track_low']} is above track_high {model['track_high']}")


def _check_depth(name: str, ds: dict, base_dir: Path, allow_downloads: bool) -> None:
    """The files the chosen depth backend needs must exist before any job starts."""
    depth = ds["depth"]
    key = f"datasets.{name}.depth"
    if depth["backend"] == "provided" and ds["format"] != "synthdance":
        raise ConfigError(f"{key}.backend", f"format {ds['format']!r} ships no depth; choose video_depth_anything or depth_anything_v2")
    if depth["backend"] == "video_depth_anything":
        vda = depth["video_depth_anything"]
        repo = base_dir / vda["repo"] if vda["repo"] else None
        if repo is None or not (repo / "video_depth_anything" / "video_depth.py").is_file():
            raise ConfigError(f"{key}.video_depth_anything.repo", f"{vda['repo']!r} is not a clone of the Video-Depth-Anything repository (video_depth_anything/video_depth.py missing)")
        if not allow_downloads and not (vda["checkpoint"] and (base_dir / vda["checkpoint"]).is_file()):
            raise ConfigError(f"{key}.video_depth_anything.checkpoint", f"weights file {vda['checkpoint']!r} not found (and allow_downloads is false)")
    if depth["backend"] == "depth_anything_v2" and not allow_downloads and not (base_dir / depth["depth_anything_v2"]["model"]).is_dir():
        raise ConfigError(f"{key}.depth_anything_v2.model", f"model folder {depth['depth_anything_v2']['model']!r} not found (and allow_downloads is false)")


def _check_masks(name: str, ds: dict, base_dir: Path) -> None:
    masks = ds["masks"]
    key = f"datasets.{name}.masks"
    if masks["backend"] == "none":
        return
    if ds["depth"]["backend"] == "none":
        raise ConfigError(f"{key}.backend", "instance-depth labels need a depth teacher: set depth.backend too (or masks.backend: none)")
    if ds["annotation_only"]:
        raise ConfigError(f"{key}.backend", "annotation_only datasets have no images to segment")
    if masks["backend"] == "sam2" and not (masks["sam2"]["checkpoint"] and (base_dir / masks["sam2"]["checkpoint"]).is_file()):
        raise ConfigError(f"{key}.sam2.checkpoint", f"SAM2 weights {masks['sam2']['checkpoint']!r} not found (download sam2.1_hiera_*.pt from the SAM2 release)")


def _check_detector(name: str, ds: dict, base_dir: Path) -> None:
    det = ds["detector"]
    key = f"datasets.{name}.detector"
    backend = det["backend"]
    if backend == "ultralytics" and not det["train"]["enabled"]:
        if not (det["ultralytics"]["model"] and (base_dir / det["ultralytics"]["model"]).is_file()):
            raise ConfigError(f"{key}.ultralytics.model", f"{det['ultralytics']['model']!r} is not a local .pt file (bare names would be downloaded)")
    if det["train"]["enabled"] and backend != "ultralytics":
        raise ConfigError(f"{key}.train.enabled", "a trained detector is used through backend: ultralytics")
    if backend == "yolox" and not (det["yolox"]["model"] and (base_dir / det["yolox"]["model"]).is_file()):
        raise ConfigError(f"{key}.yolox.model", f"ONNX model {det['yolox']['model']!r} not found")
    if backend == "file" and det["file"]["format"] == "det_db" and not (det["file"]["path"] and (base_dir / det["file"]["path"]).is_file()):
        raise ConfigError(f"{key}.file.path", f"det_db JSON {det['file']['path']!r} not found")


def load_config(path: str | Path, schema_path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("<file>", f"{path} is not valid YAML: {exc}") from None
    return validate_config(config, schema_path, base_dir=path.parent)
