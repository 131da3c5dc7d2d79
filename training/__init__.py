"""Model pipeline: datasets with provenance, semi-synthetic data, training, evaluation, signed export."""
