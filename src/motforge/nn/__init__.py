"""Network parts shared by tracker families (the backbone + FPN)."""
