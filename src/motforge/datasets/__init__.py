"""Dataset readers: benchmark layouts in, one canonical per-sequence index out."""
