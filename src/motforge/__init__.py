"""motforge: MOT pseudo labels, depth-aware trackers and evaluation as one Snakemake DAG."""

__version__ = "0.1.0"
