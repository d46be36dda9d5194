# Stage "depth": the depth teacher per sequence -> depth.zarr (float16 [T, h, w], one frame per chunk).


rule depth:
    input:
        index=seq_path("{ds}", "{seq}", "index.h5"),
    output:
        directory(seq_path("{ds}", "{seq}", "depth.zarr")),
    params:
        cli=MOTFORGE,
        depth=lambda wc: as_json(DATASETS[wc.ds]["depth"]),
        downloads="--allow-downloads" if config["allow_downloads"] else "",
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/depth/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/depth/{{seq}}.bench.tsv"
    threads: resource("depth", "threads")
    resources:
        mem_mb=mem_mb("depth"),
        runtime=resource("depth", "runtime"),
        gpu=lambda wc: teacher_gpus(wc.ds, "depth"),
    shell:
        "{params.cli} depth --index={input.index:q} --depth-config={params.depth:q} --out={output:q}"
        " {params.downloads} {params.progress} > {log:q} 2>&1"
