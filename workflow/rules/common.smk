# Shared helpers: config validation, parse-time sequence lists, paths and per-family resources.
import json
import shlex
from pathlib import Path

from motforge.config import validate_config
from motforge.datasets.layouts import discover
from motforge.datasets.video import gt_file, list_videos
from motforge.synthdance.generate import SynthConfig, sequence_names

validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")

RESULTS = config["results"]
LOGS = config["logs"]
DATASETS = config["datasets"]
MODELS = config["models"]
PROGRESS = "" if config["progress"] else "--no-progress"


def _sequences(name, ds):
    """{sequence: split} of a dataset, known when the workflow is parsed."""
    if ds["format"] == "synthdance":
        names = sequence_names(SynthConfig.from_dict(ds["synth"]))
        return {seq: split for seq, split in names if split in ds["splits"]}
    sources = discover(name, ds["format"], ds["root"], ds["splits"], ds["gt_splits"], ds["seqmaps"])
    return {s.name: s.split for s in sources}


SEQUENCES = {name: _sequences(name, ds) for name, ds in DATASETS.items()}


def as_json(value):
    """Stable JSON for params: a changed value re-runs exactly the rules that read it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _merge(base, override):
    merged = json.loads(json.dumps(base))
    for key, value in override.items():
        merged[key] = _merge(merged.get(key, {}), value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def _ablation_models():
    """Models of the ablation table, generated from the base model: '<base>__<variant>__s<seed>'."""
    ab = config["ablation"]
    base = MODELS.get(ab["base_model"])
    runs = {}
    if base is None or base["family"] != "dense":
        return runs
    variants = {"full": {}, **ab["variants"]}
    for variant, override in variants.items():
        for seed in ab["seeds"]:
            model = _merge(base, override)
            model["train"]["seed"] = seed
            if ab["steps"]:
                model["train"]["steps"] = ab["steps"]
            runs[f"{ab['base_model']}__{variant}__s{seed}"] = (variant, model)
    return runs


ABLATION = _ablation_models()
MODELS.update({name: model for name, (_, model) in ABLATION.items()})


def training_settings(model):
    """The part of a model's config that its training reads (everything but the online tracker's settings).
    A single process is left unstated so runs from before multi-process training keep their recorded params."""
    settings = json.loads(as_json({key: value for key, value in MODELS[model].items() if key != "track"}))
    if settings.get("train", {}).get("processes") == 1:
        del settings["train"]["processes"]
    return settings


def train_launcher(wildcards):
    """`python -m motforge`, or torchrun with one process per rank when the model asks for several."""
    processes = MODELS[wildcards.model]["train"]["processes"]
    if processes == 1:
        return "python -m motforge"
    return f"torchrun --standalone --nproc-per-node {processes} -m motforge"


def _trained_by():
    """Each dense model -> the model whose checkpoint it tracks with. Models that differ only in tracker settings
    (the ablation's gamma = 0, the ablation's full model at the base model's steps) share one training."""
    owner, first = {}, {}
    for name, model in MODELS.items():  # configured models first, then the generated ablation runs
        if model["family"] != "dense":
            continue
        key = as_json(training_settings(name))
        owner[name] = first.setdefault(key, name)
    return owner


TRAINED_BY = _trained_by()


wildcard_constraints:
    ds="|".join(DATASETS) or "NONE",
    model="|".join(sorted(MODELS, key=len, reverse=True)) or "NONE",
    seq=r"[A-Za-z0-9._-]+",


def split_of(ds, seq):
    return SEQUENCES[ds][seq]


def eval_sequences(ds):
    split = DATASETS[ds]["eval_split"]
    return [seq for seq, s in SEQUENCES[ds].items() if s == split]


def seq_path(ds, seq, name):
    return f"{RESULTS}/{ds}/seqs/{seq}/{name}"


def resource(family, key):
    return config["resources"][family][key]


def mem_mb(family):
    """Memory of a rule family, growing by resources.memory_growth on each retry (an OOM-killed job on SLURM
    comes back with more)."""
    base, growth = resource(family, "mem_mb"), config["resources"]["memory_growth"]
    return lambda wildcards, attempt: int(base * growth ** (attempt - 1))


def prepare_settings(ds):
    """The part of a dataset's config that conversion depends on."""
    keys = ("format", "root", "splits", "gt_splits", "seqmaps", "annotation_only")
    return {k: DATASETS[ds][k] for k in keys}


def has_depth(ds):
    return DATASETS[ds]["depth"]["backend"] != "none"


def has_masks(ds):
    return DATASETS[ds]["masks"]["backend"] != "none"


def gt_sequences(ds):
    """Sequences of the splits that carry GT (masks and instance labels exist only for them)."""
    return [seq for seq, split in SEQUENCES[ds].items() if split in DATASETS[ds]["gt_splits"]]


def teacher_gpus(ds, stage):
    """GPUs a teacher job asks for: none for backends that run on the CPU or only read files."""
    if stage == "depth" and DATASETS[ds]["depth"]["backend"] == "provided":
        return 0
    if stage == "masks" and DATASETS[ds]["masks"]["backend"] in ("box", "grabcut"):
        return 0
    if stage == "detect" and DATASETS[ds]["detector"]["backend"] in ("background", "file"):
        return 0
    return resource(stage, "gpu")


def detect_inputs(wildcards):
    """The index, and the trained detector when the dataset trains its own."""
    inputs = {"index": seq_path(wildcards.ds, wildcards.seq, "index.h5")}
    if DATASETS[wildcards.ds]["detector"]["train"]["enabled"]:
        inputs["trained"] = f"{RESULTS}/{wildcards.ds}/detector"
    return inputs


def detector_settings(ds):
    """The detector block, pointing the ultralytics backend at the trained weights when the dataset trains its own.
    (A function of the config alone, not of ``input``: Snakemake compares such params when it builds the DAG.)"""
    settings = json.loads(as_json(DATASETS[ds]["detector"]))
    if settings["train"]["enabled"]:
        settings["ultralytics"]["model"] = f"{RESULTS}/{ds}/detector/best.pt"
    return settings


def dataset_targets(ds):
    """Everything the workflow makes for one dataset: headline metrics, every sequence's index and pseudo labels,
    and label quality where GT allows it."""
    targets = []
    if DATASETS[ds]["eval_split"] is not None:  # a dataset without GT has nothing to evaluate
        targets.append(f"{RESULTS}/{ds}/hota.txt")
    if DATASETS[ds]["det_db"] and not DATASETS[ds]["annotation_only"]:
        targets.append(f"{RESULTS}/{ds}/det_db.json")
    if DATASETS[ds]["format"] == "synthdance":
        targets.append(f"{RESULTS}/{ds}/label_quality/detections.json")
    targets += [seq_path(ds, seq, "index.h5") for seq in SEQUENCES[ds]]
    if has_depth(ds):
        targets += [seq_path(ds, seq, "depth_bins.zarr") for seq in SEQUENCES[ds]]
        if DATASETS[ds]["format"] == "synthdance":
            targets.append(f"{RESULTS}/{ds}/label_quality/depth.json")
    if has_masks(ds):
        targets += [seq_path(ds, seq, "instance_depth.h5") for seq in gt_sequences(ds)]
        if DATASETS[ds]["format"] == "synthdance":
            targets.append(f"{RESULTS}/{ds}/label_quality/instances.json")
    return targets


VIDEO_FILES = {name: list_videos(name, ds["root"]) for name, ds in DATASETS.items() if ds["format"] == "video"}


def video_prepare_inputs(wildcards):
    """The decoded frames, and the GT file when there is one (an edited GT re-indexes the sequence)."""
    video = VIDEO_FILES[wildcards.ds][wildcards.seq]
    inputs = [seq_path(wildcards.ds, wildcards.seq, "video")]
    return inputs + [str(gt_file(video))] if gt_file(video).is_file() else inputs


def prepare_inputs(wildcards):
    ds = DATASETS[wildcards.ds]
    split = split_of(wildcards.ds, wildcards.seq)
    if ds["format"] == "synthdance":
        return [f"{ds['root']}/{split}/{wildcards.seq}", f"{ds['root']}/{split}_seqmap.txt"]
    if ds["format"] == "video":
        return video_prepare_inputs(wildcards)
    seq_dir = Path(ds["root"]) / split / wildcards.seq
    files = [seq_dir / "seqinfo.ini", seq_dir / "gt" / "gt.txt"]
    if ds["format"] == "bft":
        files = [Path(ds["root"]) / "annotations_mot" / split / f"{wildcards.seq}.txt"]
    return [str(f) for f in files if f.exists()]


def frames_cache(ds, seq, model):
    size = MODELS[model]["input"]
    return seq_path(ds, seq, f"frames_{size['width']}x{size['height']}.zarr")


def train_sequences(ds):
    return [seq for seq, split in SEQUENCES[ds].items() if split == "train"]


def train_inputs(wildcards):
    """What a dense model's enabled components read from the caches of the train split."""
    ds, model = wildcards.ds, MODELS[wildcards.model]
    seqs = train_sequences(ds)
    inputs = {"index": [seq_path(ds, s, "index.h5") for s in seqs], "frames": [frames_cache(ds, s, wildcards.model) for s in seqs]}
    if model["components"]["spatial_adapter"]:
        inputs["depth_bins"] = [seq_path(ds, s, "depth_bins.zarr") for s in seqs]
    if model["components"]["instance_depth"]:
        inputs["instance_depth"] = [seq_path(ds, s, "instance_depth.h5") for s in seqs]
    if model["components"]["pseudo_labels"]:
        inputs["detections"] = [seq_path(ds, s, "detections.h5") for s in seqs]
    return inputs


def optional_list(flag, name):
    """Command-line part for an optional list input of the train rule."""
    return lambda wildcards, input: f"{flag} " + " ".join(shlex.quote(str(p)) for p in input[name]) if name in input.keys() else ""


def track_inputs(wildcards):
    model = MODELS[wildcards.model]
    inputs = {"index": seq_path(wildcards.ds, wildcards.seq, "index.h5")}
    if model["family"] == "bytetrack" or (model["family"] == "dense" and model["track"]["proposals"] == "detections"):
        inputs["detections"] = seq_path(wildcards.ds, wildcards.seq, "detections.h5")
    if model["family"] == "dense":
        inputs["checkpoint"] = f"{RESULTS}/{wildcards.ds}/models/{TRAINED_BY[wildcards.model]}/checkpoint.pt"
        inputs["frames"] = frames_cache(wildcards.ds, wildcards.seq, wildcards.model)
    return inputs


def detections_arg(wildcards, input):
    args = f"--detections {shlex.quote(str(input.detections))}" if "detections" in input.keys() else ""
    if "checkpoint" in input.keys():
        args += f" --checkpoint {shlex.quote(str(input.checkpoint))} --frames {shlex.quote(str(input.frames))}"
    return args


def test_sequences(ds):
    return [seq for seq, split in SEQUENCES[ds].items() if split == "test"]
