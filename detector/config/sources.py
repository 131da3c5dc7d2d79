"""Where frames come from: a file, an RTSP or HTTP stream, or a local camera (``type: file | rtsp | http | device``).

Each source is a tagged union member with its own config class; :mod:`detector.sources` opens it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from nitrosignal.strict import StrictModel


class _SourceBase(StrictModel):
    analysis_fps: float = Field(default=10.0, gt=0.0, le=60.0, description="Frames per second to analyse.")
    queue_size: int = Field(default=4, ge=1, le=256, description="Frames buffered before the oldest is dropped.")
    reconnect_initial_s: float = Field(default=1.0, gt=0.0, description="First wait before reopening a lost feed.")
    reconnect_max_s: float = Field(default=30.0, gt=0.0, description="Longest wait between reopen attempts.")


class FileSource(_SourceBase):
    """A video file, for tests, demos and replays."""

    type: Literal["file"] = "file"
    path: Path = Field(description="Video file; relative paths are relative to the config file.")
    realtime: bool = Field(
        default=True, description="Play at the file's own frame rate; false: as fast as analysis allows, no drops."
    )
    loop: bool = Field(default=False, description="Start again at the end instead of reporting the feed as ended.")


class RtspSource(_SourceBase):
    """An RTSP camera stream."""

    type: Literal["rtsp"] = "rtsp"
    url: str = Field(pattern=r"^rtsps?://", description="rtsp:// or rtsps:// URL of the stream.")
    timeout_s: float = Field(default=5.0, gt=0.0, description="Open and read timeout.")


class HttpSource(_SourceBase):
    """An HTTP(S) stream such as MJPEG."""

    type: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://", description="http:// or https:// URL of the stream.")
    timeout_s: float = Field(default=5.0, gt=0.0, description="Open and read timeout.")


class DeviceSource(_SourceBase):
    """A local camera (V4L2 device index)."""

    type: Literal["device"] = "device"
    index: int = Field(default=0, ge=0, description="Camera index, 0 for /dev/video0.")
    width: int | None = Field(default=None, ge=16, description="Requested capture width.")
    height: int | None = Field(default=None, ge=16, description="Requested capture height.")


AnySource = FileSource | RtspSource | HttpSource | DeviceSource
"""Any one source config."""

SourceSettings = Annotated[AnySource, Field(discriminator="type")]
"""A source config as the camera config holds it: chosen by its ``type``."""
