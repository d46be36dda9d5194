# Stage "labels": training labels derived from the teacher caches, and their quality on synthdance.


rule depth_bins:
    input:
        depth=seq_path("{ds}", "{seq}", "depth.zarr"),
    output:
        directory(seq_path("{ds}", "{seq}", "depth_bins.zarr")),
    params:
        bins=lambda wc: as_json(DATASETS[wc.ds]["labels"]["depth_bins"]),
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/labels/depth_bins/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/labels/depth_bins/{{seq}}.bench.tsv"
    threads: resource("labels", "threads")
    resources:
        mem_mb=mem_mb("labels"),
        runtime=resource("labels", "runtime"),
    shell:
        "python -m motforge depth-bins --depth={input.depth:q} --bins-config={params.bins:q} --out={output:q}"
        " {params.progress} > {log:q} 2>&1"


rule depth_quality:
    input:
        index=lambda wc: [seq_path(wc.ds, seq, "index.h5") for seq in SEQUENCES[wc.ds]],
        depth=lambda wc: [seq_path(wc.ds, seq, "depth.zarr") for seq in SEQUENCES[wc.ds]],
    output:
        f"{RESULTS}/{{ds}}/label_quality/depth.json",
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/labels/depth_quality.log",
    benchmark:
        f"{LOGS}/{{ds}}/labels/depth_quality.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("labels"),
        runtime=resource("labels", "runtime"),
    shell:
        "python -m motforge quality depth --index {input.index:q} --depth {input.depth:q} --out={output:q}"
        " > {log:q} 2>&1"


rule instance_depth:
    input:
        index=seq_path("{ds}", "{seq}", "index.h5"),
        masks=seq_path("{ds}", "{seq}", "masks.h5"),
        depth=seq_path("{ds}", "{seq}", "depth.zarr"),
    output:
        seq_path("{ds}", "{seq}", "instance_depth.h5"),
    params:
        instance=lambda wc: as_json(DATASETS[wc.ds]["labels"]["instance_depth"]),
        bins=lambda wc: as_json(DATASETS[wc.ds]["labels"]["depth_bins"]),
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/labels/instance_depth/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/labels/instance_depth/{{seq}}.bench.tsv"
    threads: resource("labels", "threads")
    resources:
        mem_mb=mem_mb("labels"),
        runtime=resource("labels", "runtime"),
    shell:
        "python -m motforge instance-depth --index={input.index:q} --masks={input.masks:q} --depth={input.depth:q}"
        " --instance-config={params.instance:q} --bins-config={params.bins:q} --out={output:q} {params.progress}"
        " > {log:q} 2>&1"


rule instances_quality:
    input:
        index=lambda wc: [seq_path(wc.ds, seq, "index.h5") for seq in gt_sequences(wc.ds)],
        depth=lambda wc: [seq_path(wc.ds, seq, "depth.zarr") for seq in gt_sequences(wc.ds)],
        masks=lambda wc: [seq_path(wc.ds, seq, "masks.h5") for seq in gt_sequences(wc.ds)],
        instance=lambda wc: [seq_path(wc.ds, seq, "instance_depth.h5") for seq in gt_sequences(wc.ds)],
    output:
        f"{RESULTS}/{{ds}}/label_quality/instances.json",
    params:
        quality=lambda wc: as_json({**DATASETS[wc.ds]["labels"]["quality"], "grabcut": DATASETS[wc.ds]["masks"]["grabcut"]}),
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/labels/instances_quality.log",
    benchmark:
        f"{LOGS}/{{ds}}/labels/instances_quality.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("labels"),
        runtime=resource("labels", "runtime"),
    shell:
        "python -m motforge quality instances --index {input.index:q} --depth {input.depth:q} --masks {input.masks:q}"
        " --instance-depth {input.instance:q} --quality-config={params.quality:q} --out={output:q} > {log:q} 2>&1"
