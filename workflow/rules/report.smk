# Stage "report": results/{ds}/report.html, one self-contained page per dataset from what the other stages wrote.


rule report:
    input:
        unpack(report_inputs),
    output:
        f"{RESULTS}/{{ds}}/report.html",
    params:
        args=report_args,
        default_model=lambda wc: DATASETS[wc.ds]["default_model"],
        ablation=lambda wc: f"{RESULTS}/{wc.ds}/ablation.png",
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/report.log",
    benchmark:
        f"{LOGS}/{{ds}}/report.bench.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m motforge report --dataset {wildcards.ds:q} --default-model {params.default_model:q}"
        " --index {input.index:q} {params.args} --ablation {params.ablation:q} --out {output:q} > {log:q} 2>&1"
