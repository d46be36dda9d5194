"""Depth teachers (Video Depth Anything, Depth Anything V2, dataset-provided depth), their zarr cache and FDTA bins."""
