"""The camera's configuration, pydantic only: it imports no image, pose or model library.

One YAML file per camera, validated by :class:`CameraConfig` (``camera``), which is made of the stages'
own models: ``sources``, ``schedule``, ``masking``, ``motion`` and the analysis settings
(``detector.settings``). ``loading`` reads a file and reports every problem with its YAML position. The
stages (``detector.sources``, ``detector.schedule``, ``detector.masking``, ``detector.motion``) import
their models from here; the device check and the platform's provisioning use the same models.
"""

from detector.config.camera import CameraConfig, IngestEndpoint, MetricsSettings, OutboxSettings, PlatformLink
from detector.config.loading import (
    ConfigError,
    ConfigIssue,
    check_files,
    load_config,
    read_metrics_token,
    validate_config_file,
)
from detector.config.masking import PrivacyMask, polygon_problem
from detector.config.motion import MotionSettings
from detector.config.schedule import ScheduleSettings, ScheduleWindow, parse_clock
from detector.config.sources import AnySource, DeviceSource, FileSource, HttpSource, RtspSource, SourceSettings

__all__ = [
    "AnySource",
    "CameraConfig",
    "ConfigError",
    "ConfigIssue",
    "DeviceSource",
    "FileSource",
    "HttpSource",
    "IngestEndpoint",
    "MetricsSettings",
    "MotionSettings",
    "OutboxSettings",
    "PlatformLink",
    "PrivacyMask",
    "RtspSource",
    "ScheduleSettings",
    "ScheduleWindow",
    "SourceSettings",
    "check_files",
    "load_config",
    "parse_clock",
    "polygon_problem",
    "read_metrics_token",
    "validate_config_file",
]
