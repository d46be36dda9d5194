# Stage "detect": detector pseudo-boxes per sequence -> detections.h5 (flat table + per-frame offsets).


rule detect:
    input:
        unpack(detect_inputs),
    output:
        seq_path("{ds}", "{seq}", "detections.h5"),
    params:
        cli=MOTFORGE,
        detector=lambda wc: as_json(detector_settings(wc.ds)),
        root=lambda wc: DATASETS[wc.ds]["root"],
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/detect/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/detect/{{seq}}.bench.tsv"
    threads: resource("detect", "threads")
    resources:
        mem_mb=mem_mb("detect"),
        runtime=resource("detect", "runtime"),
        gpu=lambda wc: teacher_gpus(wc.ds, "detect"),
    shell:
        "{params.cli} detect --index={input.index:q} --detector={params.detector:q}"
        " --dataset-root={params.root:q} --out={output:q}"
        " {params.progress} > {log:q} 2>&1"


rule det_db:
    input:
        index=lambda wc: [seq_path(wc.ds, seq, "index.h5") for seq in SEQUENCES[wc.ds]],
        detections=lambda wc: [seq_path(wc.ds, seq, "detections.h5") for seq in SEQUENCES[wc.ds]],
    output:
        f"{RESULTS}/{{ds}}/det_db.json",
    params:
        root=lambda wc: DATASETS[wc.ds]["root"],
        prefix=lambda wc: DATASETS[wc.ds]["detector"]["file"]["prefix"] or Path(DATASETS[wc.ds]["root"]).resolve().name,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/detect/det_db.log",
    benchmark:
        f"{LOGS}/{{ds}}/detect/det_db.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("detect"),
        runtime=resource("detect", "runtime"),
    shell:
        "python -m motforge export det-db --index {input.index:q} --detections {input.detections:q}"
        " --root={params.root:q} --prefix={params.prefix:q} --out={output:q} > {log:q} 2>&1"


rule detections_quality:
    input:
        index=lambda wc: [seq_path(wc.ds, seq, "index.h5") for seq in gt_sequences(wc.ds)],
        detections=lambda wc: [seq_path(wc.ds, seq, "detections.h5") for seq in gt_sequences(wc.ds)],
    output:
        f"{RESULTS}/{{ds}}/label_quality/detections.json",
    params:
        quality=lambda wc: as_json({"score_threshold": DATASETS[wc.ds]["detector"]["score_threshold"]}),
    conda:
        "../../envs/eval.yaml"
    log:
        f"{LOGS}/{{ds}}/detect/quality.log",
    benchmark:
        f"{LOGS}/{{ds}}/detect/quality.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("evaluate"),
        runtime=resource("evaluate", "runtime"),
    shell:
        "python -m motforge quality detections --index {input.index:q} --detections {input.detections:q}"
        " --quality-config={params.quality:q} --out={output:q} > {log:q} 2>&1"


rule export_yolo:
    input:
        lambda wc: [seq_path(wc.ds, seq, "index.h5") for seq in gt_sequences(wc.ds)],
    output:
        directory(f"{RESULTS}/{{ds}}/export/yolo"),
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/detect/export_yolo.log",
    benchmark:
        f"{LOGS}/{{ds}}/detect/export_yolo.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("detect"),
        runtime=resource("detect", "runtime"),
    shell:
        "python -m motforge export yolo --index {input:q} --out={output:q} > {log:q} 2>&1"


rule train_detector:
    input:
        data=f"{RESULTS}/{{ds}}/export/yolo",
    output:
        directory(f"{RESULTS}/{{ds}}/detector"),
    params:
        train=lambda wc: as_json(DATASETS[wc.ds]["detector"]["train"]),
        device=lambda wc: DATASETS[wc.ds]["detector"]["device"],
    conda:
        "../../envs/train.yaml"
    log:
        f"{LOGS}/{{ds}}/detect/train_detector.log",
    benchmark:
        f"{LOGS}/{{ds}}/detect/train_detector.bench.tsv"
    threads: resource("train_detector", "threads")
    resources:
        mem_mb=mem_mb("train_detector"),
        runtime=resource("train_detector", "runtime"),
        gpu=resource("train_detector", "gpu"),
    shell:
        "python -m motforge train-detector --data={input.data:q}/data.yaml --train-config={params.train:q}"
        " --device={params.device:q} --out={output:q} > {log:q} 2>&1"
