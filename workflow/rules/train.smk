# Stage "train": frame caches at the model's input size, training of dense models, and the ablation table.


rule frames:
    input:
        index=seq_path("{ds}", "{seq}", "index.h5"),
    output:
        directory(seq_path("{ds}", "{seq}", "frames_{width}x{height}.zarr")),
    params:
        progress=PROGRESS,
    wildcard_constraints:
        width=r"\d+",
        height=r"\d+",
    conda:
        "../../envs/train.yaml"
    log:
        f"{LOGS}/{{ds}}/frames/{{seq}}_{{width}}x{{height}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/frames/{{seq}}_{{width}}x{{height}}.bench.tsv"
    threads: resource("frames", "threads")
    resources:
        mem_mb=mem_mb("frames"),
        runtime=resource("frames", "runtime"),
    shell:
        "python -m motforge frames --index={input.index:q} --width={wildcards.width} --height={wildcards.height}"
        " --out={output:q} {params.progress} > {log:q} 2>&1"


rule train:
    input:
        unpack(train_inputs),
    output:
        checkpoint=f"{RESULTS}/{{ds}}/models/{{model}}/checkpoint.pt",
        log_csv=f"{RESULTS}/{{ds}}/models/{{model}}/train_log.csv",
        curves=f"{RESULTS}/{{ds}}/models/{{model}}/loss_curves.png",
        summary=f"{RESULTS}/{{ds}}/models/{{model}}/summary.json",
    params:
        model=lambda wc: as_json(training_settings(wc.model)),
        bins=lambda wc: as_json(DATASETS[wc.ds]["labels"]["depth_bins"]),
        inputs=input_options,
        resume=lambda wc: f"{RESULTS}/{wc.ds}/models/.resume/{wc.model}",
        out=lambda wc: f"{RESULTS}/{wc.ds}/models/{wc.model}",
        launch=train_launcher,
        progress=PROGRESS,
    conda:
        "../../envs/train.yaml"
    log:
        f"{LOGS}/{{ds}}/train/{{model}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/train/{{model}}.bench.tsv"
    threads: lambda wc: resource("train", "threads") * MODELS[wc.model]["train"]["processes"]
    resources:
        mem_mb=mem_mb("train"),
        runtime=resource("train", "runtime"),
        gpu=lambda wc: resource("train", "gpu") * MODELS[wc.model]["train"]["processes"],
    shell:
        "{params.launch} train {params.inputs} --model-config={params.model:q} --bins-config={params.bins:q}"
        " --resume={params.resume:q} --out={params.out:q} {params.progress} > {log:q} 2>&1"


rule ablation:
    input:
        lambda wc: [f"{RESULTS}/{wc.ds}/eval/{name}/hota.txt" for name in ABLATION] + ([f"{RESULTS}/{wc.ds}/eval/{config['ablation']['include_baseline']}/hota.txt"] if config["ablation"]["include_baseline"] else []),
    output:
        csv=f"{RESULTS}/{{ds}}/ablation.csv",
        plot=f"{RESULTS}/{{ds}}/ablation.png",
    params:
        names=[variant for variant, _ in ABLATION.values()] + ([config["ablation"]["include_baseline"]] if config["ablation"]["include_baseline"] else []),
        paper=as_json(config["ablation"]["paper"]),
        folders=lambda wc, input: [str(Path(p).parent) for p in input],
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/train/ablation.log",
    benchmark:
        f"{LOGS}/{{ds}}/train/ablation.bench.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m motforge ablation --eval-dir {params.folders:q} --name {params.names:q} --paper={params.paper:q}"
        " --out={output.csv:q} > {log:q} 2>&1"
