"""The camera's configuration: one YAML file, validated by a strict pydantic model.

Every model forbids unknown keys, so a typo is an error rather than a silently ignored setting, and each
``Field(description=...)`` is the user documentation. :func:`validate_config_file` reports every problem
with its line and column in the YAML (by composing the YAML node tree and following pydantic's error
locations through it). Relative paths are relative to the config file. ``config_hash`` identifies the
configuration in heartbeats: an HMAC keyed with the device's secret over the document as written
(``nitrosignal.confighash``), so a password in an RTSP URL cannot be guessed from it.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from detector.masking import PrivacyMask
from detector.motion import MotionSettings
from detector.schedule import ScheduleSettings
from detector.settings import AnalysisSettings, ZoneSettings
from detector.sources import FileSource, SourceSettings
from nitrosignal.confighash import config_hash
from nitrosignal.keys import KeyFileError, check_secret_permissions, load_public
from nitrosignal.wire.messages import CameraId


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlatformLink(_Strict):
    """Where the platform is and how patiently to talk to it."""

    endpoint: str = Field(
        pattern=r"^tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}$", description="Platform ingest, tcp://host:port."
    )
    public_key_file: Path = Field(description="The platform's CURVE public key file (.key).")
    ack_timeout_s: float = Field(
        default=3.0, gt=0.0, le=60.0, description="Wait this long for an ack before reconnecting (Lazy Pirate)."
    )
    backoff_initial_s: float = Field(default=0.5, gt=0.0, description="First wait after an unanswered message.")
    backoff_max_s: float = Field(default=60.0, gt=0.0, description="Longest wait between attempts.")


class OutboxSettings(_Strict):
    """The on-device store of unacked alerts (alerts only, never images)."""

    path: Path = Field(default=Path("outbox.sqlite3"), description="SQLite file of the outbox.")
    max_size_mb: float = Field(
        default=64.0, gt=0.0, description="Refuse new alerts (loudly) once the outbox would grow past this."
    )
    retention_days: float = Field(
        default=28.0,
        gt=0.0,
        le=366.0,
        description="Dead-lettered alerts, alerts never acked and quarantined corrupt outbox files older than "
        "this are deleted (at start and every hour), as the platform deletes its records after its retention.",
    )


class MetricsSettings(_Strict):
    """Optional Prometheus endpoint with counters and latencies only (never any image), behind a token.

    It listens on loopback only and refuses every request without ``Authorization: Bearer <token>``: a
    local process without the token learns nothing, not even the frame rates that rise and fall with the
    number of people in view. Prometheus reads the token with ``authorization: credentials_file:``.
    """

    enabled: bool = Field(default=False, description="Serve /metrics. Off by default: the device listens on nothing.")
    host: str = Field(default="127.0.0.1", description="Loopback address to listen on (127.0.0.1 or ::1).")
    port: int = Field(default=9464, ge=1, le=65535, description="TCP port of the metrics endpoint.")
    token_file: Path | None = Field(
        default=None,
        description="File holding the bearer token (at least 32 characters, mode 0600); required when enabled.",
    )

    @model_validator(mode="after")
    def _loopback_with_token(self) -> MetricsSettings:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            raise ValueError(f"metrics host {self.host!r} is not loopback; the endpoint never listens beyond it")
        if self.enabled and self.token_file is None:
            raise ValueError("metrics are enabled without token_file; the endpoint never serves without a token")
        return self


class CameraConfig(_Strict):
    """Everything one camera device needs."""

    camera_id: CameraId
    platform: PlatformLink
    secret_key_file: Path = Field(description="This camera's CURVE secret key file (.key_secret, mode 0600).")
    source: SourceSettings = Field(description="Where frames come from: type file, rtsp, http or device.")
    schedule: ScheduleSettings
    privacy_masks: tuple[PrivacyMask, ...] = Field(
        default=(), description="Areas blacked out before any model sees the frame."
    )
    zones: tuple[ZoneSettings, ...] = Field(default=(), description="Named areas; only the name travels in alerts.")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings, description="Pose, evidence, confirmation.")
    motion: MotionSettings = Field(default_factory=MotionSettings, description="The motion gate in front of pose.")
    model_path: Path | None = Field(default=None, description="Model file (card next to it); default: shipped model.")
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    heartbeat_interval_s: float = Field(default=30.0, ge=1.0, le=3600.0, description="Seconds between heartbeats.")
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, value: tuple[ZoneSettings, ...]) -> tuple[ZoneSettings, ...]:
        names = [zone.name for zone in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"zone names must be unique, repeated: {', '.join(duplicates)}")
        return value

    _document: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_document(cls, data: Any, handler: ModelWrapValidatorHandler[CameraConfig]) -> CameraConfig:
        # The document as written, for config_hash: it is what provisioning knows and registers.
        config = handler(data)
        if isinstance(data, Mapping):
            config._document = copy.deepcopy(dict(data))
        elif isinstance(data, CameraConfig):
            config._document = copy.deepcopy(data._document)
        return config

    def config_hash(self, secret_z85: bytes) -> str:
        """HMAC-SHA256 of the config document as written, keyed with this camera's secret key.

        See :mod:`nitrosignal.confighash`: the same value provisioning computes from the document it
        writes, and useless for guessing an RTSP password without the device's secret.
        """
        return config_hash(self._document, secret_z85)

    def resolved_model_path(self) -> Path:
        """The configured model path, or the shipped model."""
        if self.model_path is not None:
            return self.model_path
        from detector.model import default_model_path  # torch is heavy; only when actually needed

        return default_model_path()


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, with where it is."""

    location: str
    line: int | None
    column: int | None
    message: str

    def format(self, file_name: str) -> str:
        """``file:line:column: location: message``, as editors and CI logs understand it."""
        where = f"{file_name}:{self.line}:{self.column}" if self.line is not None else file_name
        return f"{where}: {self.location or '(top level)'}: {self.message}"


class ConfigError(ValueError):
    """A config file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, path: Path, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(issue.format(str(path)) for issue in issues))
        self.path = path
        self.issues = issues


def _node_for(root: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """Follow a pydantic error location through the YAML node tree as far as it goes."""
    node = root
    marked = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((pair for pair in node.value if getattr(pair[0], "value", None) == str(part)), None)
            if match is None:
                continue  # a union tag ('file') or a missing key: stay on the enclosing mapping
            marked, node = match[0], match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = marked = node.value[part]
    return marked


def _duplicate_keys(node: yaml.Node, path: str = "") -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                issues.append(
                    ConfigIssue(f"{path}{name}", key.start_mark.line + 1, key.start_mark.column + 1, "duplicate key")
                )
            seen.add(name)
            issues.extend(_duplicate_keys(value, f"{path}{name}."))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            issues.extend(_duplicate_keys(item, f"{path}{index}."))
    return issues


def _issue(root: yaml.Node | None, loc: tuple[int | str, ...], message: str) -> ConfigIssue:
    node = _node_for(root, loc)
    dotted = ".".join(str(part) for part in loc)
    if node is None:
        return ConfigIssue(dotted, None, None, message)
    return ConfigIssue(dotted, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _resolve_paths(config: CameraConfig, base: Path) -> CameraConfig:
    def resolve(path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else (base / path).resolve()

    updates: dict[str, Any] = {
        "secret_key_file": resolve(config.secret_key_file),
        "platform": config.platform.model_copy(update={"public_key_file": resolve(config.platform.public_key_file)}),
        "outbox": config.outbox.model_copy(update={"path": resolve(config.outbox.path)}),
    }
    if config.metrics.token_file is not None:
        updates["metrics"] = config.metrics.model_copy(update={"token_file": resolve(config.metrics.token_file)})
    if config.model_path is not None:
        updates["model_path"] = resolve(config.model_path)
    if isinstance(config.source, FileSource):
        updates["source"] = config.source.model_copy(update={"path": resolve(config.source.path)})
    return config.model_copy(update=updates)


MIN_METRICS_TOKEN_LENGTH = 32


def read_metrics_token(path: Path) -> str:
    """The metrics bearer token from its file, refused when others may read it or when it is short.

    Raises:
        KeyFileError: if the file is missing, readable by group or others, or holds under 32 characters.
    """
    try:
        mode = path.stat().st_mode
        token = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read metrics token file {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise KeyFileError(f"metrics token file {path} has mode {mode & 0o777:04o}; it must be 0600 or stricter")
    if len(token) < MIN_METRICS_TOKEN_LENGTH or any(char.isspace() for char in token):
        raise KeyFileError(
            f"metrics token in {path} must be one word of at least {MIN_METRICS_TOKEN_LENGTH} characters "
            "(for example: openssl rand -hex 32)"
        )
    return token


def check_files(config: CameraConfig) -> list[ConfigIssue]:
    """Check the files a config names: keys readable and safe, model and video present.

    Returns:
        Issues without YAML positions (the caller adds them); empty when all is well.
    """
    issues: list[ConfigIssue] = []
    try:
        check_secret_permissions(config.secret_key_file)
    except KeyFileError as exc:
        issues.append(ConfigIssue("secret_key_file", None, None, str(exc)))
    try:
        load_public(config.platform.public_key_file)
    except KeyFileError as exc:
        issues.append(ConfigIssue("platform.public_key_file", None, None, str(exc)))
    if config.metrics.enabled and config.metrics.token_file is not None:
        try:
            read_metrics_token(config.metrics.token_file)
        except KeyFileError as exc:
            issues.append(ConfigIssue("metrics.token_file", None, None, str(exc)))
    if config.model_path is not None and not config.model_path.is_file():
        issues.append(ConfigIssue("model_path", None, None, f"model file {config.model_path} does not exist"))
    if isinstance(config.source, FileSource) and not config.source.path.is_file():
        issues.append(ConfigIssue("source.path", None, None, f"video file {config.source.path} does not exist"))
    return issues


def validate_config_file(path: Path, *, with_files: bool = True) -> tuple[CameraConfig | None, list[ConfigIssue]]:
    """Read and validate a config file, collecting every problem with its YAML location.

    Args:
        path: the YAML file.
        with_files: also check the key, model and video files it names.

    Returns:
        The effective config (None if the YAML itself is invalid) and the list of issues (empty when OK).
    """
    try:
        text = path.read_text()
    except OSError as exc:
        return None, [ConfigIssue("", None, None, f"cannot read config: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        return None, [ConfigIssue("", line, column, f"YAML syntax: {exc.problem}")]
    if not isinstance(data, dict):
        return None, [ConfigIssue("", 1, 1, f"expected a mapping of settings, got {type(data).__name__}")]
    issues = _duplicate_keys(root) if root is not None else []
    try:
        config = CameraConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if error["type"] == "union_tag_invalid":
                loc = (*loc, "type")  # point at the offending `type:` line, not the whole block
            issues.append(_issue(root, loc, error["msg"]))
        return None, issues
    config = _resolve_paths(config, path.resolve().parent)
    if with_files:
        for problem in check_files(config):
            loc = tuple(problem.location.split("."))
            issues.append(_issue(root, loc, problem.message))
    return (None if issues else config), issues


def load_config(path: Path, *, with_files: bool = True) -> CameraConfig:
    """Load a config file, raising :class:`ConfigError` with every issue if it is not usable."""
    config, issues = validate_config_file(path, with_files=with_files)
    if config is None:
        raise ConfigError(path, issues)
    return config
