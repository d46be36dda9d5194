# Stage "track": a model's online tracker over one sequence -> MOTChallenge rows.


rule track:
    input:
        unpack(track_inputs),
    output:
        f"{RESULTS}/{{ds}}/tracks/{{model}}/{{seq}}.txt",
    params:
        model=lambda wc: as_json(MODELS[wc.model]),
        detections=detections_arg,
        progress=PROGRESS,
    conda:
        "../../envs/train.yaml"
    log:
        f"{LOGS}/{{ds}}/track/{{model}}/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/track/{{model}}/{{seq}}.bench.tsv"
    threads: resource("track", "threads")
    resources:
        mem_mb=resource("track", "mem_mb"),
        runtime=resource("track", "runtime"),
    shell:
        "python -m motforge track --index {input.index:q} {params.detections} --model-config {params.model:q}"
        " --out {output:q} {params.progress} > {log:q} 2>&1"
