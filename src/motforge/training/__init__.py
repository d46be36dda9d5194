"""What every trainable family shares: the clip loader, data-parallel ranks, and the training loop (devices,
resume, DDP, AMP, logging, checkpoints)."""
