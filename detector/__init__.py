"""On-device detection: camera in, anonymous alerts and heartbeats out. Frames never leave process memory."""
