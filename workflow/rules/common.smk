# Shared helpers: config validation, parse-time sequence lists, paths and per-family resources.
import json
import shlex
from pathlib import Path

from snakemake.exceptions import WorkflowError

from motforge import families
from motforge.config import TEACHERS, validate_config
from motforge.datasets.layouts import discover
from motforge.names import NAME_PATTERN
from motforge.datasets.video import gt_file, list_videos
from motforge.synthdance.generate import SynthConfig, sequence_names

validate_config(config)  # against motforge.config.SCHEMA_PATH, this checkout's workflow/schemas/

RESULTS = config["results"]
LOGS = config["logs"]
DATASETS = config["datasets"]
MODELS = config["models"]
PROGRESS = "" if config["progress"] else "--no-progress"


PLUGINS = " ".join(f"--plugin={module}" for module in config["plugins"])
#: the CLI with the config's plugin modules (the rules whose stage looks up a family or a teacher backend use it)
MOTFORGE = " ".join(filter(None, ["python -m motforge", PLUGINS]))


def _sources(name, ds):
    """{sequence: SequenceSource} of a dataset read from disk, known when the workflow is parsed."""
    if ds["format"] == "synthdance":
        return {}
    return {s.name: s for s in discover(name, ds["format"], ds["root"], ds["splits"], ds["gt_splits"], ds["seqmaps"])}


def _sequences(name, ds):
    """{sequence: split} of a dataset, known when the workflow is parsed."""
    if ds["format"] == "synthdance":
        names = sequence_names(SynthConfig.from_dict(ds["synth"]))
        return {seq: split for seq, split in names if split in ds["splits"]}
    return {seq: source.split for seq, source in SOURCES[name].items()}


SOURCES = {name: _sources(name, ds) for name, ds in DATASETS.items()}
SEQUENCES = {name: _sequences(name, ds) for name, ds in DATASETS.items()}


def family(model):
    """The tracker family of a configured (or ablation) model."""
    return families.registry().get(MODELS[model]["family"], f"models.{model}.family")


def as_json(value):
    """Stable JSON for params: a changed value re-runs exactly the rules that read it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _merge(base, override):
    merged = json.loads(json.dumps(base))
    for key, value in override.items():
        merged[key] = _merge(merged.get(key, {}), value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def _ablation_models():
    """Models of the ablation table, generated from the base model: '<base>__<variant>__s<seed>'.
    A variant that leaves the base model unchanged (no_pseudo_labels when the base has PLD off) is skipped."""
    ab = config["ablation"]
    base = MODELS.get(ab["base_model"])
    runs = {}
    if base is None or not families.registry().get(base["family"], "ablation.base_model").trains:
        return runs
    only = ab["only"]
    if only is not None and set(only) - set(ab["variants"]):
        raise WorkflowError(f"ablation.only names no variant: {sorted(set(only) - set(ab['variants']))} (variants: {sorted(ab['variants'])})")
    variants = {"full": {}, **{k: v for k, v in ab["variants"].items() if only is None or k in only}}
    for variant, override in variants.items():
        changed = _merge(base, override)
        if variant != "full" and changed == base:
            continue
        for seed in ab["seeds"]:
            model = json.loads(json.dumps(changed))  # a copy per seed
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
        return MOTFORGE
    return " ".join(filter(None, [f"torchrun --standalone --nproc-per-node {processes} -m motforge", PLUGINS]))


def _trained_by():
    """Each trained model -> the model whose checkpoint it tracks with. Models that differ only in tracker settings
    (the ablation's gamma = 0, the ablation's full model at the base model's steps) share one training."""
    owner, first = {}, {}
    # configured models before generated ablation runs, then the shortest name: the owner does not depend on the
    # order in which Snakemake merged config.yaml and --configfile (query_t8 tracks with query's checkpoint)
    for name in sorted(MODELS, key=lambda m: (m in ABLATION, len(m), m)):
        if not family(name).trains:
            continue
        key = as_json(training_settings(name))
        owner[name] = first.setdefault(key, name)
    return owner


TRAINED_BY = _trained_by()


wildcard_constraints:
    ds="|".join(DATASETS) or "NONE",
    model="|".join(sorted(MODELS, key=len, reverse=True)) or "NONE",
    seq=NAME_PATTERN,


def split_of(ds, seq):
    return SEQUENCES[ds][seq]


def has_eval(ds):
    return DATASETS[ds]["eval_split"] is not None


def eval_sequences(ds):
    """Sequences TrackEval scores; a dataset without ground truth has none, and asking for its metrics stops here,
    when the DAG is built, instead of in a job."""
    split = DATASETS[ds]["eval_split"]
    if split is None:
        raise WorkflowError(
            f"dataset {ds!r} has no ground truth (datasets.{ds}.gt_splits is {DATASETS[ds]['gt_splits']} and no "
            f"eval_split), so {RESULTS}/{ds}/hota.txt and {RESULTS}/{ds}/eval/ cannot be made; ask for its tracks "
            f"({RESULTS}/{ds}/tracks/<model>/<seq>.txt), det_db.json, submission or report.html, or give it GT"
        )
    return [seq for seq, s in SEQUENCES[ds].items() if s == split]


def headline_input(wildcards):
    """The default model's evaluation (stops with the reason for a dataset without ground truth)."""
    eval_sequences(wildcards.ds)
    return f"{RESULTS}/{wildcards.ds}/eval/{DATASETS[wildcards.ds]['default_model']}/hota.txt"


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
    """GPUs a teacher job asks for: none for backends that run on the CPU or only read files (the backend says)."""
    teacher = "detector" if stage == "detect" else stage
    block = DATASETS[ds][teacher]
    return resource(stage, "gpu") if TEACHERS[teacher].get(block["backend"], teacher).uses_gpu(block) else 0


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
    targets = [f"{RESULTS}/{ds}/report.html"]
    if has_eval(ds):
        targets.append(f"{RESULTS}/{ds}/hota.txt")
    else:  # nothing to score: the tracks of every configured model on every sequence
        targets += [f"{RESULTS}/{ds}/tracks/{m}/{seq}.txt" for m in DATASETS[ds]["models"] for seq in SEQUENCES[ds]]
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
    if ds["format"] == "synthdance":
        split = split_of(wildcards.ds, wildcards.seq)
        return [f"{ds['root']}/{split}/{wildcards.seq}", f"{ds['root']}/{split}_seqmap.txt"]
    if ds["format"] == "video":
        return video_prepare_inputs(wildcards)
    return [str(f) for f in SOURCES[wildcards.ds][wildcards.seq].input_files]


def cached_input(ds, seq, model, name):
    """Path of a cached per-sequence input (families.CACHED_INPUTS names its file) for a model."""
    size = family(model).input_size(MODELS[model]) or (0, 0)
    return seq_path(ds, seq, families.CACHED_INPUTS[name].format(width=size[0], height=size[1]))


def train_sequences(ds):
    return [seq for seq, split in SEQUENCES[ds].items() if split == "train"]


def train_inputs(wildcards):
    """What a model's family reads from the caches of the train split (it says which, by name)."""
    ds, model = wildcards.ds, wildcards.model
    seqs = train_sequences(ds)
    inputs = {"index": [seq_path(ds, s, "index.h5") for s in seqs]}
    for name in family(model).train_inputs(MODELS[model]):
        inputs[name] = [cached_input(ds, s, model, name) for s in seqs]
    return inputs


def input_options(wildcards, input):
    """``--<input>=<path> ...`` of every named input (a list gives the option once per item)."""
    parts = []
    for name in input.keys():
        values = input[name] if isinstance(input[name], list) else [input[name]]
        parts += [f"--{name.replace('_', '-')}={shlex.quote(str(v))}" for v in values]
    return " ".join(parts)


def track_inputs(wildcards):
    """The sequence's index, what the model's family reads for tracking, and the checkpoint of a trained model."""
    ds, seq, model = wildcards.ds, wildcards.seq, wildcards.model
    inputs = {"index": seq_path(ds, seq, "index.h5")}
    for name in family(model).track_inputs(MODELS[model]):
        inputs[name] = cached_input(ds, seq, model, name)
    if family(model).trains:
        inputs["checkpoint"] = f"{RESULTS}/{ds}/models/{TRAINED_BY[model]}/checkpoint.pt"
    return inputs


def test_sequences(ds):
    return [seq for seq, split in SEQUENCES[ds].items() if split == "test"]


def report_sequence(ds):
    """The sequence whose frames the report draws: the first evaluated one, else the first."""
    seqs = eval_sequences(ds) if has_eval(ds) else list(SEQUENCES[ds])
    return seqs[0]


def report_tracks(ds):
    """Result files the report summarises: the evaluated sequences, or every sequence without GT."""
    seqs = eval_sequences(ds) if has_eval(ds) else list(SEQUENCES[ds])
    return [f"{RESULTS}/{ds}/tracks/{model}/{seq}.txt" for model in DATASETS[ds]["models"] for seq in seqs]


def report_inputs(wildcards):
    ds = wildcards.ds
    seq = report_sequence(ds)
    trained = [m for m in DATASETS[ds]["models"] if m in TRAINED_BY]  # dense models (and the training they share)
    inputs = {
        "eval": [f"{RESULTS}/{ds}/eval/{model}/hota.txt" for model in DATASETS[ds]["models"]] if has_eval(ds) else [],
        "quality": [t for t in dataset_targets(ds) if "/label_quality/" in t],
        "training": sorted({f"{RESULTS}/{ds}/models/{TRAINED_BY[m]}/loss_curves.png" for m in trained}),
        "tracks": report_tracks(ds),
        "index": seq_path(ds, seq, "index.h5"),
    }
    if has_depth(ds):
        inputs["depth"] = seq_path(ds, seq, "depth.zarr")
        inputs["bins"] = seq_path(ds, seq, "depth_bins.zarr")
    if has_masks(ds) and seq in gt_sequences(ds):
        inputs["masks"] = seq_path(ds, seq, "masks.h5")
        inputs["instance_depth"] = seq_path(ds, seq, "instance_depth.h5")
    return inputs


def report_args(wildcards, input):
    """Command-line part for the optional inputs (a flag with no files is left out)."""
    args = []
    if input["eval"]:  # the evaluation folders of the models' hota.txt
        args.append("--eval " + " ".join(shlex.quote(str(Path(p).parent)) for p in input["eval"]))
    for name, flag in (("quality", "--quality"), ("tracks", "--tracks")):
        if input[name]:
            args.append(f"{flag} " + " ".join(shlex.quote(str(p)) for p in input[name]))
    if input["training"]:
        args.append("--training " + " ".join(shlex.quote(str(Path(p).parent)) for p in input["training"]))
    for name in ("depth", "bins", "masks", "instance_depth"):
        if name in input.keys():
            args.append(f"--{name.replace('_', '-')} {shlex.quote(str(input[name]))}")
    return " ".join(args)
