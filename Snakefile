# motforge: raw MOT datasets -> pseudo labels -> trackers -> TrackEval, as one DAG.
#   snakemake --cores 8 results/dancetrack/hota.txt
# The config is validated (and defaults filled) against workflow/schemas/config.schema.yaml when the workflow is
# parsed; sequence lists come from seqmaps / folder listings at parse time (no checkpoints).


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/synthdance.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/video.smk"
include: "workflow/rules/depth.smk"
include: "workflow/rules/masks.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/detect.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/track.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        [f"{RESULTS}/{ds}/complete.txt" for ds in DATASETS],
    default_target: True
