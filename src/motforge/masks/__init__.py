"""Instance masks per GT box (SAM2 box prompts, GrabCut, the box itself) and DepTR-MOT instance-depth soft labels."""
