# Stage "evaluate": TrackEval (HOTA, CLEAR, Identity) on the dataset's evaluation split; headline hota.txt.


rule eval_gt:
    input:
        lambda wc: [seq_path(wc.ds, seq, "index.h5") for seq in eval_sequences(wc.ds)],
    output:
        directory(f"{RESULTS}/{{ds}}/eval_gt"),
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/evaluate/eval_gt.log",
    benchmark:
        f"{LOGS}/{{ds}}/evaluate/eval_gt.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("evaluate"),
        runtime=resource("evaluate", "runtime"),
    shell:
        "python -m motforge eval-gt --index {input:q} --out={output:q} > {log:q} 2>&1"


rule evaluate:
    input:
        gt=f"{RESULTS}/{{ds}}/eval_gt",
        tracks=lambda wc: [f"{RESULTS}/{wc.ds}/tracks/{wc.model}/{seq}.txt" for seq in eval_sequences(wc.ds)],
    output:
        # the folder is written whole (TrackEval's files and hota.txt) and renamed into place by the command
        hota=f"{RESULTS}/{{ds}}/eval/{{model}}/hota.txt",
        summary=f"{RESULTS}/{{ds}}/eval/{{model}}/pedestrian_summary.txt",
        detailed=f"{RESULTS}/{{ds}}/eval/{{model}}/pedestrian_detailed.csv",
    params:
        out=lambda wc: f"{RESULTS}/{wc.ds}/eval/{wc.model}",
        benchmark=lambda wc: DATASETS[wc.ds]["eval"]["benchmark"],
        preproc=lambda wc: "" if DATASETS[wc.ds]["eval"]["preproc"] else "--no-preproc",
        tracks=lambda wc: f"{RESULTS}/{wc.ds}/tracks/{wc.model}",
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/evaluate/{{model}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/evaluate/{{model}}.bench.tsv"
    threads: resource("evaluate", "threads")
    resources:
        mem_mb=mem_mb("evaluate"),
        runtime=resource("evaluate", "runtime"),
    shell:
        "python -m motforge evaluate --gt-folder={input.gt:q} --seqmap={input.gt:q}/seqmap.txt"
        " --tracks={params.tracks:q} --out={params.out:q} --benchmark={params.benchmark} {params.preproc}"
        " --cores={threads} > {log:q} 2>&1"


rule headline:
    input:
        headline_input,
    output:
        f"{RESULTS}/{{ds}}/hota.txt",
    params:
        model=lambda wc: DATASETS[wc.ds]["default_model"],
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/evaluate/headline.log",
    benchmark:
        f"{LOGS}/{{ds}}/evaluate/headline.bench.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m motforge headline --source={input:q} --out={output:q} > {log:q} 2>&1"


rule dataset:
    """Everything of one dataset; `snakemake --forceall results/<ds>/complete.txt` reprocesses that dataset alone."""
    input:
        lambda wc: dataset_targets(wc.ds),
    output:
        f"{RESULTS}/{{ds}}/complete.txt",
    localrule: True
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/complete.log",
    shell:
        "(printf '%s\\n' {input:q} > {output:q}.tmp && mv {output:q}.tmp {output:q}) > {log:q} 2>&1"
