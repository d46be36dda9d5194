"""Detector backends and the detections.h5 store (flat box table + per-frame offsets)."""
