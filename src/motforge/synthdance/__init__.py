"""synthdance: a procedurally rendered DanceTrack-like dataset with ground-truth depth and instance masks."""
