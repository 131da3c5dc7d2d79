"""Semi-synthetic data: real balloons (and rendered look-alikes) composited on real people found by pose."""
