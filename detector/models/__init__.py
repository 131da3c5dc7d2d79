"""Shipped detection models (TorchScript + model card) and the script that rebuilds the baseline."""
