# Format "video": each file decoded once into a MOTChallenge sequence folder the prepare stage indexes; and
# track videos of any dataset for a person to look at: results/{ds}/videos/{model}/{seq}.mp4.


rule decode_video:
    input:
        lambda wc: str(VIDEO_FILES[wc.ds][wc.seq]),
    output:
        directory(seq_path("{ds}", "{seq}", "video")),
    params:
        quality=lambda wc: DATASETS[wc.ds]["video"]["jpeg_quality"],
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/prepare/{{seq}}.decode.log",
    benchmark:
        f"{LOGS}/{{ds}}/prepare/{{seq}}.decode.bench.tsv"
    threads: resource("prepare", "threads")
    resources:
        mem_mb=mem_mb("prepare"),
        runtime=resource("prepare", "runtime"),
    shell:
        "python -m motforge decode-video --video {input:q} --jpeg-quality {params.quality} --out {output:q}"
        " {params.progress} > {log:q} 2>&1"


rule track_video:
    input:
        index=seq_path("{ds}", "{seq}", "index.h5"),
        tracks=f"{RESULTS}/{{ds}}/tracks/{{model}}/{{seq}}.txt",
    output:
        f"{RESULTS}/{{ds}}/videos/{{model}}/{{seq}}.mp4",
    params:
        progress=PROGRESS,
    conda:
        "../../envs/teachers.yaml"
    log:
        f"{LOGS}/{{ds}}/videos/{{model}}/{{seq}}.log",
    benchmark:
        f"{LOGS}/{{ds}}/videos/{{model}}/{{seq}}.bench.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("frames"),
        runtime=resource("frames", "runtime"),
    shell:
        "python -m motforge show tracks --index {input.index:q} --tracks {input.tracks:q} --out {output:q}"
        " {params.progress} > {log:q} 2>&1"
