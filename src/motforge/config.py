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

from motforge import families
from motforge.depth.registry import DEPTH_BACKENDS
from motforge.detect.registry import DETECT_BACKENDS
from motforge.errors import ConfigError
from motforge.masks.registry import MASK_BACKENDS
from motforge.names import braces_problem, name_problem
from motforge.registry import load_plugins
from motforge.teacher import ConfigContext

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


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
        if condition is not None and jsonschema.Draft202012Validator(
            {**condition, "$defs": root.get("$defs", {})}
        ).is_valid(instance):
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
            raise ConfigError(
                f"models.{name}.extends", f"models extend each other in a cycle: {' -> '.join(chain + (base,))}"
            )
        del model["extends"]
        _merge_under(model, resolve(base, chain + (base,)))
        return model

    for name in list(models):
        resolve(name, (name,))


#: the teachers whose ``backend`` names come from a registry ('none' = no such labels for the dataset)
TEACHERS = {"depth": DEPTH_BACKENDS, "masks": MASK_BACKENDS, "detector": DETECT_BACKENDS}
#: teachers that may be switched off with backend: none
OPTIONAL_TEACHERS = ("depth", "masks")


def assemble_schema(schema_path: str | Path = SCHEMA_PATH) -> dict:
    """The config schema with what the registries own filled in: one ``$defs/<family>_model`` block and ``allOf``
    branch per registered tracker family (from the family's schema fragment), and each teacher's backend names."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    defs = schema["$defs"]
    branches = defs["model"]["allOf"] = []
    for family in families.registry().all():
        defs[f"{family.name}_model"] = family.schema()
        branches.append(
            {"if": {"properties": {"family": {"const": family.name}}}, "then": {"$ref": f"#/$defs/{family.name}_model"}}
        )
    defs["model"]["properties"]["family"]["enum"] = families.registry().names()
    for teacher, backends in TEACHERS.items():
        names = backends.names()
        defs[teacher]["properties"]["backend"]["enum"] = (["none"] if teacher in OPTIONAL_TEACHERS else []) + names
    return schema


def model_defaults(family: str, **settings: Any) -> dict:
    """A model block of ``family`` with every default filled in (tests, benchmarks, notebooks)."""
    return block_defaults("model", {"family": family, **settings})


def block_defaults(definition: str, block: dict) -> dict:
    """``block`` (e.g. a partial ``depth`` or ``detector`` block) with the defaults of ``$defs/<definition>``."""
    schema = assemble_schema()
    block = copy.deepcopy(block)
    _fill_defaults(block, schema["$defs"][definition], schema)
    return block


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH, base_dir: str | Path = ".") -> dict:
    """Validate ``config`` in place, fill defaults, run cross-field checks; return it. Plugin modules named under
    ``plugins`` are imported first, so the families and backends they register are known to the schema."""
    plugins = config.get("plugins") or []
    if isinstance(plugins, list) and all(isinstance(p, str) for p in plugins):
        load_plugins(plugins)
    schema = assemble_schema(schema_path)
    _check_names(config)
    if isinstance(config.get("models"), dict):
        _resolve_extends(config["models"])
    for ds in (config.get("datasets") or {}).values():
        if isinstance(ds, dict) and ds.get("format") in FORMAT_DEFAULTS:
            _merge_under(ds, FORMAT_DEFAULTS[ds["format"]])
    validator = jsonschema.Draft202012Validator(schema)
    _raise_first_error(validator, config)
    _fill_defaults(config, schema, schema)
    _raise_first_error(validator, config)
    _cross_checks(config, Path(base_dir))
    return config


def _check_names(config: dict) -> None:
    """Names that become folders and command-line values (motforge.names), and folder settings that become parts of
    Snakemake file patterns, checked before anything else reads them (types are left to the schema)."""

    def check(problem: str | None, key: str) -> None:
        if problem:
            raise ConfigError(key, problem)

    def check_list(values: object, kind: str, key: str) -> None:
        for i, value in enumerate(values if isinstance(values, list) else []):
            check(name_problem(value, kind), f"{key}[{i}]")

    for key in ("results", "logs"):
        value = config.get(key)
        check(braces_problem(value, "folder"), key)
        if isinstance(value, str) and value.startswith("-"):
            raise ConfigError(
                key, f"folder {value!r} starts with '-', which a command line would read as an option (write ./{value})"
            )
    models = config.get("models")
    for name in models if isinstance(models, dict) else {}:
        check(name_problem(name, "model"), f"models.{name}")
    datasets = config.get("datasets")
    for name, ds in (datasets if isinstance(datasets, dict) else {}).items():
        key = f"datasets.{name}"
        check(name_problem(name, "dataset"), key)
        if not isinstance(ds, dict):
            continue
        check(braces_problem(ds.get("root"), "dataset root"), f"{key}.root")
        check_list(ds.get("splits"), "split", f"{key}.splits")
        check_list(ds.get("gt_splits"), "split", f"{key}.gt_splits")
        check_list(ds.get("models"), "model", f"{key}.models")
        if "eval_split" in ds:
            check(name_problem(ds["eval_split"], "split"), f"{key}.eval_split")
        if "default_model" in ds:
            check(name_problem(ds["default_model"], "model"), f"{key}.default_model")
        for split in ds["seqmaps"] if isinstance(ds.get("seqmaps"), dict) else {}:
            check(name_problem(split, "split"), f"{key}.seqmaps.{split}")
    ablation = config.get("ablation")
    if isinstance(ablation, dict):
        if "base_model" in ablation:
            check(name_problem(ablation["base_model"], "model"), "ablation.base_model")
        if ablation.get("include_baseline"):
            check(name_problem(ablation["include_baseline"], "model"), "ablation.include_baseline")
        for variant in ablation["variants"] if isinstance(ablation.get("variants"), dict) else {}:
            check(name_problem(variant, "ablation variant"), f"ablation.variants.{variant}")


def _raise_first_error(validator: jsonschema.Draft202012Validator, config: dict) -> None:
    """The error that names the real problem. A bad value inside a family's block (an ``allOf`` branch) also makes
    the whole block's keys "unevaluated"; that consequence is dropped when an error below the same object exists."""
    errors = list(validator.iter_errors(config))
    causes = [tuple(e.absolute_path) for e in errors if e.validator != "unevaluatedProperties"]
    errors = [
        e
        for e in errors
        if e.validator != "unevaluatedProperties"
        or not any(c[: len(e.absolute_path)] == tuple(e.absolute_path) for c in causes)
    ]
    if errors:
        first = min(errors, key=lambda e: (len(e.absolute_path), str(list(e.absolute_path))))
        raise ConfigError(_key_path(first), _message(first))


def _cross_checks(config: dict, base_dir: Path) -> None:
    models = config["models"]
    for name, ds in config["datasets"].items():
        key = f"datasets.{name}"
        if ds["eval_split"] is not None:
            if ds["eval_split"] not in ds["splits"]:
                raise ConfigError(f"{key}.eval_split", f"{ds['eval_split']!r} is not among splits {ds['splits']}")
            if ds["eval_split"] not in ds["gt_splits"]:
                raise ConfigError(
                    f"{key}.eval_split",
                    f"{ds['eval_split']!r} has no ground truth (not in gt_splits; "
                    "leave eval_split out or set it to null for a dataset without ground truth)",
                )
        elif ds["annotation_only"]:
            raise ConfigError(f"{key}.eval_split", "annotation_only datasets exist to be evaluated; name the split")
        if ds["format"] == "video" and ds["eval_split"] not in (None, ds["splits"][0]):
            first = ds["splits"][0]
            raise ConfigError(f"{key}.eval_split", f"every video is in the first split {first!r}; evaluate that")
        for i, model in enumerate(ds["models"]):
            if model not in models:
                raise ConfigError(f"{key}.models[{i}]", f"model {model!r} is not defined under models")
            needs_gt = families.registry().get(models[model].get("family", ""), f"models.{model}.family").needs_gt
            if ds["eval_split"] is None and needs_gt:
                raise ConfigError(f"{key}.models[{i}]", f"model {model!r} replays ground truth, but {key} has none")
        if ds["default_model"] not in ds["models"]:
            raise ConfigError(f"{key}.default_model", f"{ds['default_model']!r} is not in {key}.models {ds['models']}")
        if ds["format"] == "synthdance":
            lo, hi = ds["synth"]["dancers"]
            if lo > hi:
                raise ConfigError(f"{key}.synth.dancers", f"minimum {lo} is larger than maximum {hi}")
            if ds["annotation_only"]:
                raise ConfigError(
                    f"{key}.annotation_only", "synthdance is generated with images; annotation_only makes no sense"
                )
        else:
            root = base_dir / ds["root"]
            if ds["format"] == "video" and root.is_file():
                pass  # one video file is a dataset of one sequence
            elif not root.is_dir():
                raise ConfigError(f"{key}.root", f"folder {str(root)!r} does not exist")
            for split, seqmap in ds["seqmaps"].items():
                if not (base_dir / seqmap).is_file():
                    raise ConfigError(f"{key}.seqmaps.{split}", f"file {seqmap!r} does not exist")
        _check_teachers(name, ds, base_dir, config["allow_downloads"])
        bins = ds["labels"]["depth_bins"]
        if not bins["d_min"] < bins["d_max"]:
            raise ConfigError(f"{key}.labels.depth_bins.d_min", f"{bins['d_min']} must be below d_max {bins['d_max']}")
        if ds["annotation_only"]:
            needs_images = [
                m
                for m in ds["models"]
                if families.registry().get(models[m]["family"], f"models.{m}.family").needs_images
            ]
            if needs_images:
                raise ConfigError(f"{key}.models", f"annotation_only datasets have no images to run {needs_images} on")
        for model_name in ds["models"]:
            model = models[model_name]
            family = families.registry().get(model["family"], f"models.{model_name}.family")
            family.check(f"models.{model_name}", model, key, ds, base_dir)


def _check_teachers(name: str, ds: dict, base_dir: Path, allow_downloads: bool) -> None:
    """Each teacher's backend checks its own block (e.g. that its weights file exists) before any job starts."""
    key = f"datasets.{name}"
    context = ConfigContext(key, ds, base_dir, allow_downloads)
    if ds["masks"]["backend"] != "none":
        if ds["depth"]["backend"] == "none":
            raise ConfigError(
                f"{key}.masks.backend",
                "instance-depth labels need a depth teacher: set depth.backend too (or masks.backend: none)",
            )
        if ds["annotation_only"]:
            raise ConfigError(f"{key}.masks.backend", "annotation_only datasets have no images to segment")
    if ds["detector"]["train"]["enabled"] and ds["detector"]["backend"] != "ultralytics":
        raise ConfigError(f"{key}.detector.train.enabled", "a trained detector is used through backend: ultralytics")
    for teacher, backends in TEACHERS.items():
        block = ds[teacher]
        if block["backend"] != "none":
            backends.get(block["backend"], f"{key}.{teacher}.backend").check(block, f"{key}.{teacher}", context)


def load_config(path: str | Path, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """Read a YAML config file and validate it."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("<file>", f"{path} is not valid YAML: {exc}") from None
    return validate_config(config, schema_path, base_dir=path.parent)
