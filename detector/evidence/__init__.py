"""Per-person evidence: hand-to-mouth geometry, the pose-normalised mouth crop and the balloon classifier."""
