# Stage "report": results/{ds}/report.html, one self-contained page per dataset from what the other stages wrote.


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
    inputs = {
        "eval": [f"{RESULTS}/{ds}/eval/{model}" for model in DATASETS[ds]["models"]] if has_eval(ds) else [],
        "quality": [t for t in dataset_targets(ds) if "/label_quality/" in t],
        "training": sorted({f"{RESULTS}/{ds}/models/{TRAINED_BY[m]}/loss_curves.png" for m in DATASETS[ds]["models"] if m in TRAINED_BY}),
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
    for name, flag in (("eval", "--eval"), ("quality", "--quality"), ("tracks", "--tracks")):
        if input[name]:
            args.append(f"{flag} " + " ".join(shlex.quote(str(p)) for p in input[name]))
    if input["training"]:
        args.append("--training " + " ".join(shlex.quote(str(Path(p).parent)) for p in input["training"]))
    for name in ("depth", "bins", "masks", "instance_depth"):
        if name in input.keys():
            args.append(f"--{name.replace('_', '-')} {shlex.quote(str(input[name]))}")
    return " ".join(args)


rule report:
    input:
        unpack(report_inputs),
    output:
        f"{RESULTS}/{{ds}}/report.html",
    params:
        args=report_args,
        default_model=lambda wc: DATASETS[wc.ds]["default_model"],
        ablation=lambda wc: f"{RESULTS}/{wc.ds}/ablation.png",
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/report.log",
    benchmark:
        f"{LOGS}/{{ds}}/report.bench.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m motforge report --dataset {wildcards.ds:q} --default-model {params.default_model:q}"
        " --index {input.index:q} {params.args} --ablation {params.ablation:q} --out {output:q} > {log:q} 2>&1"
