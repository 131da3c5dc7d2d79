"""Shared by the detector's vision and runtime tests: their model kit (``model_kit.py``) sits in this folder.

The detector's tests never import torch: a device install has none (test_vision_device_install.py checks it).
"""
