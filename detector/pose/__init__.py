"""Multi-person pose: the in-memory PoseLandmarker bundle and the estimator with tiles for small people."""
