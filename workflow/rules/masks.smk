# Stage "masks": one instance mask per GT box -> masks.h5 (COCO RLE per GT row, backend score, empty flag).


rule masks:
    input:
        index=seq_path("{ds}", "{seq}", "index.h5"),
    output:
        seq_path("{ds}", "{seq}", "masks.h5"),
    params:
        cli=MOTFORGE,
        masks=lambda wc: as_json(DATASETS[wc.ds]["masks"]),
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/masks/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/masks/{{seq}}.bench.tsv"
    threads: resource("masks", "threads")
    resources:
        mem_mb=mem_mb("masks"),
        runtime=resource("masks", "runtime"),
        gpu=lambda wc: teacher_gpus(wc.ds, "masks"),
    shell:
        "{params.cli} masks --index={input.index:q} --masks-config={params.masks:q} --out={output:q}"
        " {params.progress} > {log:q} 2>&1"
