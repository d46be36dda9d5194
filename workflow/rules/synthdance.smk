# Stage "generate": render the embedded synthdance dataset(s) in DanceTrack's layout, one job per sequence.
# One rule pair per synthdance dataset, because each one has its own root folder.

for _name, _ds in DATASETS.items():
    if _ds["format"] != "synthdance":
        continue

    rule:
        name:
            f"generate_{_name}"
        output:
            directory(f"{_ds['root']}/{{split}}/{{seq}}"),
        params:
            synth=as_json(_ds["synth"]),
            progress=PROGRESS,
        conda:
            "../../envs/teachers.yaml"
        log:
            f"{LOGS}/{_name}/generate/{{split}}/{{seq}}.log",
        benchmark:
            f"{LOGS}/{_name}/generate/{{split}}/{{seq}}.bench.tsv"
        wildcard_constraints:
            split="train|val|test",
        threads: resource("generate", "threads")
        resources:
            mem_mb=mem_mb("generate"),
            runtime=resource("generate", "runtime"),
        shell:
            "python -m motforge generate --synth={params.synth:q} --seq={wildcards.seq:q} --out={output:q}"
            " {params.progress} > {log:q} 2>&1"

    rule:
        name:
            f"seqmap_{_name}"
        output:
            f"{_ds['root']}/{{split}}_seqmap.txt",
        params:
            synth=as_json(_ds["synth"]),
            root=lambda wc, output: str(Path(output[0]).parent),
        conda:
            "../../envs/teachers.yaml"
        log:
            f"{LOGS}/{_name}/generate/{{split}}_seqmap.log",
        benchmark:
            f"{LOGS}/{_name}/generate/{{split}}_seqmap.bench.tsv"
        wildcard_constraints:
            split="train|val|test",
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        shell:
            "python -m motforge generate --synth={params.synth:q} --root={params.root:q}"
            " --seqmap-split={wildcards.split:q} > {log:q} 2>&1"
