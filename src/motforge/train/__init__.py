"""Training the `dense` tracker from the cached pseudo labels: clips, losses, the training loop, checkpoints."""
