"""The camera's configuration: one YAML file, validated by a strict pydantic model.

Every model forbids unknown keys, so a typo is an error rather than a silently ignored setting, and each
``Field(description=...)`` is the user documentation. :func:`validate_config_file` reports every problem
with its line and column in the YAML (by composing the YAML node tree and following pydantic's error
locations through it). Relative paths are relative to the config file. ``config_hash`` identifies the
effective configuration in heartbeats.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detector.masking import PrivacyMask
from detector.motion import MotionSettings
from detector.schedule import ScheduleSettings
from detector.settings import AnalysisSettings, ZoneSettings
from detector.sources import FileSource, SourceSettings
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


class MetricsSettings(_Strict):
    """Optional Prometheus endpoint with counters and latencies only (never any image)."""

    enabled: bool = Field(default=False, description="Serve /metrics. Off by default: the device listens on nothing.")
    host: str = Field(default="127.0.0.1", description="Address to listen on; loopback unless allow_remote.")
    port: int = Field(default=9464, ge=1, le=65535, description="TCP port of the metrics endpoint.")
    allow_remote: bool = Field(default=False, description="Allow a non-loopback host (for a scraper on the LAN).")

    @model_validator(mode="after")
    def _loopback_only(self) -> MetricsSettings:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback and not self.allow_remote:
            raise ValueError(f"metrics host {self.host!r} is not loopback; set allow_remote: true to expose it")
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
    model_path: Path | None = Field(
        default=None,
        description="ONNX model file (its .card.json and .sig next to it); default: the shipped model.",
    )
    model_signing_keys: tuple[Path, ...] = Field(
        default=(),
        description="Ed25519 public keys (PEM) trusted to sign the model card; empty: the key shipped with the "
        "detector (detector/models/signing-key.pub). A model whose card no trusted key signed is refused.",
    )
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

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of the effective configuration."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def resolved_model_path(self) -> Path:
        """The configured model path, or the shipped model."""
        if self.model_path is not None:
            return self.model_path
        from detector.model import default_model_path  # onnxruntime loads only when a model is needed

        return default_model_path()

    def resolved_model_signing_keys(self) -> tuple[Path, ...]:
        """The configured trusted model-signing keys, or the key shipped with the detector."""
        if self.model_signing_keys:
            return self.model_signing_keys
        from detector.model import shipped_signing_key_path

        return (shipped_signing_key_path(),)


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
    if config.model_path is not None:
        updates["model_path"] = resolve(config.model_path)
    if config.model_signing_keys:
        updates["model_signing_keys"] = tuple(resolve(key) for key in config.model_signing_keys)
    if isinstance(config.source, FileSource):
        updates["source"] = config.source.model_copy(update={"path": resolve(config.source.path)})
    return config.model_copy(update=updates)


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
    if config.model_path is not None and not config.model_path.is_file():
        issues.append(ConfigIssue("model_path", None, None, f"model file {config.model_path} does not exist"))
    for index, key in enumerate(config.model_signing_keys):
        if not key.is_file():
            issues.append(ConfigIssue(f"model_signing_keys.{index}", None, None, f"public key {key} does not exist"))
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
