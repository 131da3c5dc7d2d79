"""``nitrosignal train synth-clips``: balloon use and its look-alikes composited over time onto real footage.

For every clip of a video folder (video files and animated GIFs):

1. the people are followed through the untouched clip with the detector's own pose (:mod:`.hosts`; cached);
2. on each host, clips are composed (:mod:`.clip_scenes`): ``positives_per_host`` of balloon use (one real
   balloon per clip, some with two events and a pause) and one of each look-alike, every object placed from
   the host's smoothed pose on the clean frames and matched to the footage (:mod:`.realism`);
3. the untouched clip is kept as a negative too.

A source clip that does not decode is refused, with its name and the reason; one without a usable host is
kept as an untouched negative and listed with the reason no event could be built. Neither stops the run.
The output is a dataset (:mod:`.clip_writer`) with ``events.csv`` (:mod:`training.events`), provenance
inherited from the source footage and the object photos, and ``synth-clips.json``: what was built from
each source clip and why the rest was skipped. The same seed and inputs give the same clips.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from detector.media import CLIP_SUFFIXES
from detector.pose.estimator import ImageBGR
from detector.settings import PoseSettings
from training.dataset import DatasetError, LabelRow, SourceProvenance, read_provenance
from training.events import ClipEvent
from training.frontend import still_pose_settings
from training.synth.build import balloon_bank
from training.synth.clip_scenes import (
    HOLD_S,
    LOOKALIKE_KINDS,
    POSITIVE_KIND,
    WHOLE_CLIP_KINDS,
    ClipKind,
    Placement,
    Props,
    compose,
    draw_props,
    place,
)
from training.synth.clip_writer import ClipMeta, ClipWriter, write_clip
from training.synth.composite import Cutout, sprite_cutout
from training.synth.host_look import camera_look, own_hands, skin_colour
from training.synth.hosts import ClipPoses, Host, clip_poses, find_hosts, iter_frames, read_frames
from training.synth.rendered import render_fist
from training.synth.scenes import RENDERED_SOURCE
from training.synth.timeline import bounce, plan_events
from training.synth.writer import RENDERED_PROVENANCE

log = logging.getLogger(__name__)

SHARED_VIDEO_MANIFEST = Path(__file__).resolve().parent.parent / "sources" / "shared_video.yaml"
SOURCE_SUFFIXES = CLIP_SUFFIXES | {".gif"}
UNTOUCHED = "untouched"


class ClipSynthConfig(BaseModel):
    """What synth-clips builds; the defaults build the evaluation clips of ``default-model``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="Seed; the same seed and inputs give the same clips.")
    positives_per_host: int = Field(default=3, ge=0, le=16, description="Balloon-use clips per host.")
    two_event_share: float = Field(default=0.3, ge=0.0, le=1.0, description="Share of clips with two events.")
    lookalikes: tuple[ClipKind, ...] = Field(default=LOOKALIKE_KINDS, description="One clip of each per host.")
    min_person_scale_px: float = Field(default=24.0, gt=0, description="Smallest body scale a host may have.")
    host_min_detection_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Person-detector score a host needs (as in train synth)."
    )
    min_host_s: float = Field(default=1.0, gt=0, description="Shortest run a host must be usable for.")
    max_host_s: float = Field(default=15.0, gt=0, description="Longest run of a host that is used.")
    max_gap_s: float = Field(default=0.3, ge=0, description="Longest gap in a host's run that is bridged.")
    max_hosts_per_clip: int = Field(default=6, ge=1, description="Most hosts per source clip.")
    max_fps: float = Field(
        default=25.0,
        gt=0,
        description="Clips filmed faster are written with every n-th frame, at or below this rate (the detector "
        "analyses 10 fps; writing 50 fps footage in full only costs time).",
    )
    include_untouched: bool = Field(default=True, description="Keep every decodable source clip as a negative.")
    limit_clips: int | None = Field(default=None, ge=1, description="Use at most this many source clips (tests).")


class SourceOutcome(BaseModel):
    """What synth-clips made of one source clip."""

    model_config = ConfigDict(extra="forbid")

    clip: str
    source: str
    seconds: float = 0.0
    hosts: int = 0
    host_heights_px: list[float] = Field(default_factory=list)
    positive_clips: int = 0
    positive_events: int = 0
    lookalike_clips: int = 0
    untouched: bool = False
    refused: str | None = Field(default=None, description="Why the clip could not be read at all.")
    skipped: str | None = Field(default=None, description="Why no event could be built on it.")


def _key(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _source_clips(videos: Path, limit: int | None) -> list[Path]:
    clips = sorted(p for p in videos.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
    return clips[:limit] if limit is not None else clips


def _poses_job(path: str, settings_json: str, cache_dir: str | None) -> ClipPoses | str:
    """Pose on one clip in a worker; the reason as a string when it cannot be decoded."""
    try:
        settings = PoseSettings.model_validate_json(settings_json)
        return clip_poses(Path(path), settings, Path(cache_dir) if cache_dir else None)
    except ValueError as error:  # ImageReadError is a ValueError
        return str(error)


def _all_poses(
    clips: list[Path], settings: PoseSettings, cache_dir: Path | None, workers: int
) -> list[ClipPoses | str]:
    args = [(str(c), settings.model_dump_json(), str(cache_dir) if cache_dir else None) for c in clips]
    if workers <= 1 or len(clips) <= 1:
        return [_poses_job(*a) for a in tqdm(args, desc="pose on clean clips", unit="clip")]
    # spawn, not fork: MediaPipe's threads do not survive a fork. Each clip gets its own fresh estimator.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_poses_job, *a) for a in args]
        return [f.result() for f in tqdm(futures, desc="pose on clean clips", unit="clip")]


def _events(props: Props, length_s: float, height_px: float) -> list[ClipEvent]:
    if props.kind in WHOLE_CLIP_KINDS:
        whole = ClipEvent(
            path="pending",
            start_s=0.0,
            end_s=length_s,
            label="negative",
            category=props.kind,
            person_height_px=height_px,
        )
        return [whole]
    label: Literal["positive", "negative"] = "positive" if props.kind == POSITIVE_KIND else "negative"
    return [
        ClipEvent(
            path="pending",
            start_s=round(e.start_s, 3),
            end_s=round(e.end_s, 3),
            label=label,
            category=props.kind,
            person_height_px=height_px,
        )
        for e in props.plan.events
    ]


def _frames(
    job: _HostJob, clean: list[ImageBGR], props: Props, count: int, phase: int, seed: list[int]
) -> Iterator[ImageBGR]:
    """The composited frames of one clip, in order: every ``job.step``-th source frame, played forward and back."""
    host = job.host
    before: Placement | None = None
    for number in range(count):
        index = bounce(number * job.step, host.first, host.last, phase)
        now = place(host.pose(index), props, number * job.step / job.fps)
        rng = np.random.default_rng([*seed, number])
        yield compose(clean[index - host.first], props, now, before or now, rng, 1.0 / job.step)
        before = now


def synthesise_clips(
    videos: Path,
    objects: Path,
    out: Path,
    config: ClipSynthConfig,
    video_manifest: Path,
    objects_manifest: Path,
    cache_dir: Path | None,
    pose_workers: int = 1,
) -> list[SourceOutcome]:
    """Build the clip dataset; see the module docstring.

    Args:
        videos: Folder of real clips (searched recursively).
        objects: Folder with ``balloons/`` (photos and ``boxes.csv``); for evaluation clips, the shared ``eval/``
            folder, whose balloons are never trained on.
        out: Output dataset folder (created; must be empty or absent).
        config: What to build.
        video_manifest: Provenance of the video folder's clips.
        objects_manifest: Provenance of the object folder's photos.
        cache_dir: Pose cache outside the repository, or None.
        pose_workers: Processes for pose on the clean clips (the poses do not depend on it).

    Returns:
        Per source clip, what was built and why the rest was skipped (also in ``out/synth-clips.json``).
    """
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; synth-clips writes a fresh dataset")
    video_provenance = read_provenance(video_manifest)
    object_provenance = read_provenance(objects_manifest)
    sources: dict[str, SourceProvenance] = {RENDERED_PROVENANCE.name: RENDERED_PROVENANCE}
    for entry in (*video_provenance.sources, *object_provenance.sources):
        if sources.setdefault(entry.name, entry) != entry:
            raise DatasetError(f"source name {entry.name!r} means two different things in the manifests")
    clips = _source_clips(videos, config.limit_clips)
    if not clips:
        raise DatasetError(f"no video clips or animated GIFs under {videos}")
    for clip in clips:
        if video_provenance.source_for(clip.relative_to(videos).as_posix()) is None:
            raise DatasetError(f"clip {clip.relative_to(videos)} has no provenance in {video_manifest}")
    host_settings = still_pose_settings().model_copy(
        update={"min_detection_confidence": config.host_min_detection_confidence}
    )
    all_poses = _all_poses(clips, host_settings, cache_dir, pose_workers)
    balloons = balloon_bank(objects, "balloons", object_provenance)
    if not balloons:
        raise DatasetError(f"no whole balloon could be cut from {objects / 'balloons'}")
    writer = ClipWriter(
        out, f"synth-clips-{videos.name}-seed{config.seed}", sources, (video_manifest.name, videos.name)
    )
    outcomes = []
    kinds: list[tuple[ClipKind, int]] = [(POSITIVE_KIND, v) for v in range(config.positives_per_host)]
    kinds += [(kind, 0) for kind in config.lookalikes]
    for clip, poses in tqdm(list(zip(clips, all_poses, strict=True)), desc="compose clips", unit="clip"):
        relative = clip.relative_to(videos).as_posix()
        source = video_provenance.source_for(relative)
        assert source is not None  # checked above
        outcome = SourceOutcome(clip=relative, source=source.name)
        outcomes.append(outcome)
        if isinstance(poses, str):
            outcome.refused = poses
            log.warning("REFUSED %s: %s", relative, poses)
            continue
        outcome.seconds = round(poses.duration_s, 2)
        search = find_hosts(
            poses,
            min_scale_px=config.min_person_scale_px,
            min_host_s=config.min_host_s,
            max_host_s=config.max_host_s,
            max_gap_s=config.max_gap_s,
            max_hosts=config.max_hosts_per_clip,
        )
        outcome.skipped = search.reason
        outcome.hosts = len(search.hosts)
        outcome.host_heights_px = [round(h.height_px) for h in search.hosts]
        if search.reason:
            log.info("no event on %s: %s", relative, search.reason)
        key = _key(relative)
        step = max(1, int(np.ceil(poses.fps / config.max_fps - 1e-9)))
        for host_index, host in enumerate(search.hosts):
            job = _HostJob(clip, relative, source.name, [config.seed, key, host_index], host, poses.fps, step)
            _compose_host(job, kinds, writer, balloons, config, outcome)
        if config.include_untouched:
            path = writer.next_path(UNTOUCHED, source.name, ())
            thinned = (frame for number, frame in enumerate(iter_frames(clip)) if number % step == 0)
            count = write_clip(out / path, thinned, poses.fps / step)
            meta = ClipMeta(
                path=path,
                kind=UNTOUCHED,
                source_clip=relative,
                length_s=round(count * step / poses.fps, 3),
                fps=round(poses.fps / step, 4),
            )
            row = LabelRow(path=path, label="negative", category=UNTOUCHED, split="test")
            writer.add(path, row, (), meta, source.name, ())
            outcome.untouched = True
    (out / "synth-clips.json").write_text(json.dumps([o.model_dump() for o in outcomes], indent=2) + "\n")
    writer.finish(
        f"Balloon use and look-alikes composited over time on {videos.name} (seed {config.seed}), "
        "plus the untouched clips."
    )
    return outcomes


@dataclass(frozen=True)
class _HostJob:
    """One host of one source clip, with the generator seed that all its clips derive from."""

    clip: Path
    relative: str
    source: str
    seed: list[int]
    host: Host
    fps: float
    step: int

    @property
    def out_fps(self) -> float:
        """The frame rate the clips on this host are written at."""
        return self.fps / self.step


def _compose_host(
    job: _HostJob,
    kinds: list[tuple[ClipKind, int]],
    writer: ClipWriter,
    balloons: list[Cutout],
    config: ClipSynthConfig,
    outcome: SourceOutcome,
) -> None:
    """Write every clip built on one host: balloon use and each look-alike."""
    host = job.host
    clean = read_frames(job.clip, host.first, host.last)
    look = camera_look(host, clean, np.random.default_rng(job.seed))
    own = own_hands(host, clean)
    skin = skin_colour(host, clean)
    for kind, variant in kinds:
        kind_index = LOOKALIKE_KINDS.index(kind) + 1 if kind in LOOKALIKE_KINDS else 0
        seed = [*job.seed, kind_index, variant]
        rng = np.random.default_rng(seed)
        two = kind not in WHOLE_CLIP_KINDS and bool(rng.random() < config.two_event_share)
        plan = plan_events(rng, hold_s=HOLD_S[kind], two_events=two)
        side: Literal["left", "right"] = "left" if rng.random() < 0.5 else "right"
        hand, hand_scales = own.get(side) or own.get("right" if side == "left" else "left") or (None, 0.0)
        hand_sources: tuple[str, ...] = ()
        if hand is None:
            # The footage shows no hand of this person: a closed hand drawn in their own skin colour.
            hand_scales = float(rng.uniform(0.18, 0.26))
            sprite = render_fist(120, skin, rng)
            hand = sprite_cutout(sprite, RENDERED_SOURCE, anchor=(sprite.shape[1] / 2.0, sprite.shape[0] / 2.0))
            hand_sources = (RENDERED_SOURCE,)
        balloon = balloons[int(rng.integers(len(balloons)))]
        props = draw_props(kind, plan, look, balloon, hand, hand_scales, side, rng)
        count = max(1, int(round(plan.length_s * job.out_fps)))
        phase = int(rng.integers(0, max(1, 2 * (host.last - host.first))))
        objects_used = (*((props.obj.source,) if props.obj is not None else ()), *hand_sources)
        path = writer.next_path(kind, job.source, objects_used)
        write_clip(writer.out / path, _frames(job, clean, props, count, phase, seed), job.out_fps)
        label: Literal["positive", "negative"] = "positive" if kind == POSITIVE_KIND else "negative"
        events = _events(props, count / job.out_fps, round(host.height_px))
        meta = ClipMeta(
            path=path,
            kind=kind,
            source_clip=job.relative,
            host=job.seed[-1],
            host_frames=(host.first, host.last),
            host_height_px=round(host.height_px, 1),
            length_s=round(count / job.out_fps, 3),
            fps=round(job.out_fps, 4),
            objects=objects_used,
        )
        row = LabelRow(path=path, label=label, category=kind, split="test")
        writer.add(path, row, events, meta, job.source, objects_used)
        if label == "positive":
            outcome.positive_clips += 1
            outcome.positive_events += len(events)
        else:
            outcome.lookalike_clips += 1
