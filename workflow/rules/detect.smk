# Stage "detect": detector pseudo-boxes per sequence -> detections.h5 (flat table + per-frame offsets).


rule detect:
    input:
        index=seq_path("{ds}", "{seq}", "index.h5"),
    output:
        seq_path("{ds}", "{seq}", "detections.h5"),
    params:
        detector=lambda wc: as_json(DATASETS[wc.ds]["detector"]),
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/detect/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/detect/{{seq}}.bench.tsv"
    threads: resource("detect", "threads")
    resources:
        mem_mb=resource("detect", "mem_mb"),
        runtime=resource("detect", "runtime"),
        gpu=resource("detect", "gpu"),
    shell:
        "python -m motforge detect --index {input.index:q} --detector {params.detector:q} --out {output:q}"
        " {params.progress} > {log:q} 2>&1"
