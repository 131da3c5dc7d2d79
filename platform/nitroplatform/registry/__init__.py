"""The model registry: upload with card and signature, four-eyes approval, assignment, device download."""
