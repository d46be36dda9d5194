# Stage "prepare": raw sequence -> results/{ds}/seqs/{seq}/index.h5 (frames, sizes, fps, split, GT table).


rule prepare_index:
    input:
        prepare_inputs,
    output:
        seq_path("{ds}", "{seq}", "index.h5"),
    params:
        dataset=lambda wc: as_json(prepare_settings(wc.ds)),
        split=lambda wc: split_of(wc.ds, wc.seq),
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/prepare/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/prepare/{{seq}}.bench.tsv"
    threads: resource("prepare", "threads")
    resources:
        mem_mb=mem_mb("prepare"),
        runtime=resource("prepare", "runtime"),
    shell:
        "python -m motforge prepare --dataset={wildcards.ds:q} --dataset-config={params.dataset:q}"
        " --seq={wildcards.seq:q} --split={params.split:q} --out={output:q} > {log:q} 2>&1"
