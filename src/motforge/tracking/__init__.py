"""What every family's online tracker shares: the Kalman filter, ByteTrack's two-stage association, the per-frame
runner and MOTChallenge result rows."""
