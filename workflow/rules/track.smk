# Stage "track": a model's online tracker over one sequence -> MOTChallenge rows.


rule track:
    input:
        unpack(track_inputs),
    output:
        f"{RESULTS}/{{ds}}/tracks/{{model}}/{{seq}}.txt",
    params:
        cli=MOTFORGE,
        model=lambda wc: as_json(MODELS[wc.model]),
        inputs=input_options,
        progress=PROGRESS,
    conda:
        "../../envs/train.yaml"
    log:
        f"{LOGS}/{{ds}}/track/{{model}}/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/track/{{model}}/{{seq}}.bench.tsv"
    threads: resource("track", "threads")
    resources:
        mem_mb=mem_mb("track"),
        runtime=resource("track", "runtime"),
        gpu=lambda wc: resource("track", "gpu") if family(wc.model).trains else 0,
    shell:
        "{params.cli} track {params.inputs} --model-config={params.model:q}"
        " --out={output:q} {params.progress} > {log:q} 2>&1"


rule submission:
    input:
        lambda wc: [f"{RESULTS}/{wc.ds}/tracks/{wc.model}/{seq}.txt" for seq in test_sequences(wc.ds)],
    output:
        f"{RESULTS}/{{ds}}/submission/{{model}}.zip",
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/track/{{model}}/submission.log",
    benchmark:
        f"{LOGS}/{{ds}}/track/{{model}}/submission.bench.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m motforge submission --tracks {input:q} --out={output:q} > {log:q} 2>&1"
