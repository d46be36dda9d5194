"""Online trackers: the non-learned ByteTrack baseline and the GT oracle; MOTChallenge result rows."""
