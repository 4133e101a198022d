"""EchoNet-Dynamic (Ouyang et al. 2020, Nature): 10,030 apical four-chamber echocardiography videos, each with the
left ventricle traced by experts on two frames, end-diastole (ED) and end-systole (ES).

```
ROOT/FileList.csv          FileName (with or without .avi), EF, ESV, EDV, FrameHeight, FrameWidth, FPS,
                           NumberOfFrames, Split (TRAIN / VAL / TEST)
ROOT/VolumeTracings.csv    FileName (with .avi), X1, Y1, X2, Y2, Frame: about 21 rows per traced frame
ROOT/Videos/<FileName>.avi 112 x 112 colour
```

A traced frame's rows: the first is the long axis (apex to the mitral annulus), each further row a chord across
the ventricle whose ends (X1, Y1) and (X2, Y2) lie on its two walls. The outline is the polygon of the (X1, Y1) of
rows 2.. in order followed by the (X2, Y2) of rows 2.. in reverse order, in pixels of the frame ((x, y) = (column,
row)); the mask is that polygon filled (:func:`morphogen.medical.data.polygon.fill_polygon`).

ED and ES: of a video's traced frames, ED is the one whose outline encloses the larger area and ES the smaller. The
EchoNet code takes the last traced frame of the file as the large (ED) one and the first as the small (ES) one,
trusting the file's order; the area is what the phases mean (the ventricle is largest at end-diastole), does not
depend on how the table is sorted, and agrees with the file order wherever that holds. Equal areas (which should
not happen) fall back on that order: the later frame in the file is ED.
"""
from __future__ import annotations

import csv
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from morphogen.medical.data.polygon import polygon_area
from morphogen.medical.data.records import VideoFrameRecord
from morphogen.medical.errors import MedicalDataError

PHASES = ("ED", "ES")
FILELIST_COLUMNS = ("FileName", "NumberOfFrames", "Split")
TRACING_COLUMNS = ("FileName", "X1", "Y1", "X2", "Y2", "Frame")
#: a polygon needs 3 vertices: the long axis and at least 2 chords (2 vertices each)
MIN_TRACING_ROWS = 3
UNTRACED = ("error", "skip")


@dataclass(frozen=True)
class Video:
    """A row of FileList.csv: the video's file name (with .avi), its line, frame count and split (upper case)."""

    name: str
    line: int
    frames: int
    split: str


@dataclass
class Tracing:
    """The rows of one traced frame of VolumeTracings.csv: (x1, y1, x2, y2) each, and the line of the first."""

    frame: int
    line: int
    rows: list[tuple[float, float, float, float]] = field(default_factory=list)

    def outline(self) -> tuple[tuple[float, float], ...]:
        """The polygon (N, 2) of the chords' ends: (X1, Y1) of rows 2.. then (X2, Y2) of rows 2.. reversed."""
        chords = self.rows[1:]
        return tuple((x1, y1) for x1, y1, _, _ in chords) + tuple((x2, y2) for _, _, x2, y2 in reversed(chords))


def video_name(name: str) -> str:
    """FileList's names may lack the extension: ``0X1A2B`` -> ``0X1A2B.avi``."""
    name = name.strip()
    return name if Path(name).suffix else f"{name}.avi"


def _columns(path: Path, header: list[str] | None, needed: Sequence[str]) -> dict[str, int]:
    if not header:
        raise MedicalDataError(f"{path}: empty table")
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    missing = [c for c in needed if c.lower() not in cols]
    if missing:
        raise MedicalDataError(f"{path}, line 1: lacks the column(s) {missing} (has {header})")
    return {c: cols[c.lower()] for c in needed}


def _cell(path: Path, line: int, row: list[str], cols: dict[str, int], name: str) -> str:
    i = cols[name]
    if i >= len(row):
        raise MedicalDataError(f"{path}, line {line}: no {name} value (the row has {len(row)} cells)")
    return row[i].strip()


def read_file_list(path: str | os.PathLike) -> dict[str, Video]:
    """FileList.csv as video file name -> :class:`Video`; a UTF-8 BOM is tolerated. Raises
    :class:`MedicalDataError` naming the file and line for a missing column, a bad frame count or a repeated
    name."""
    p = Path(path)
    out: dict[str, Video] = {}
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        cols = _columns(p, next(reader, None), FILELIST_COLUMNS)
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            name = video_name(_cell(p, line, row, cols, "FileName"))
            count = _cell(p, line, row, cols, "NumberOfFrames")
            try:
                frames = int(count)
            except ValueError:
                raise MedicalDataError(f"{p}, line {line}: NumberOfFrames must be an integer, got {count!r}") from None
            if name in out:
                raise MedicalDataError(f"{p}, line {line}: {name} is listed again (first on line {out[name].line})")
            out[name] = Video(name, line, frames, _cell(p, line, row, cols, "Split").upper())
    return out


def read_tracings(path: str | os.PathLike) -> dict[str, dict[int, Tracing]]:
    """VolumeTracings.csv as video file name -> frame -> :class:`Tracing` (frames and rows in file order); a
    UTF-8 BOM is tolerated. Raises :class:`MedicalDataError` naming the file and line for a missing column, a
    coordinate that is not a finite number or a frame that is not a non-negative integer."""
    p = Path(path)
    out: dict[str, dict[int, Tracing]] = {}
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        cols = _columns(p, next(reader, None), TRACING_COLUMNS)
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            name = video_name(_cell(p, line, row, cols, "FileName"))
            coords = []
            for c in ("X1", "Y1", "X2", "Y2"):
                text = _cell(p, line, row, cols, c)
                try:
                    v = float(text)
                except ValueError:
                    v = math.nan
                if not math.isfinite(v):
                    raise MedicalDataError(f"{p}, line {line}: {c} of {name} is not a number: {text!r}")
                coords.append(v)
            text = _cell(p, line, row, cols, "Frame")
            try:
                frame = int(text)
            except ValueError:
                frame = -1
            if frame < 0:
                raise MedicalDataError(f"{p}, line {line}: Frame of {name} must be an integer >= 0, got {text!r}")
            frames = out.setdefault(name, {})
            frames.setdefault(frame, Tracing(frame, line)).rows.append(tuple(coords))
    return out


def read_echonet(root: str | os.PathLike, split: str | None = None, phases: Sequence[str] = PHASES,
                 untraced: str = "error") -> list[VideoFrameRecord]:
    """The traced frames of EchoNet-Dynamic's videos (of one split, or all), sorted by video, in ``phases``'s order.

    Args:
        root: the folder of FileList.csv, VolumeTracings.csv and Videos/.
        split: TRAIN, VAL or TEST (any case; the Split column), None for all videos.
        phases: of "ED", "ES" (see the module's docstring for how they are told apart).
        untraced: what to do with a video with fewer than two traced frames: "error" (the default), or "skip" it
            with a warning that counts and names them (EchoNet's own loader drops them).

    Records (:class:`VideoFrameRecord`): id = ``<video stem>_<ED|ES>``, subject = the video's file name, frame =
    the Frame column, outline = the chords' polygon, no spacing; extra = {"phase", "split"}.

    Raises :class:`MedicalDataError` naming the file (and, for the tables, the line) for a listed video missing in
    Videos/, a traced frame at or beyond the video's NumberOfFrames, a video with fewer than two traced frames, a
    tracing with fewer than 3 rows, a coordinate that is not a number, or a tracing of a video FileList.csv does
    not list. (A video OpenCV cannot open is found when its record is loaded.)"""
    phases = _phases(phases)
    if untraced not in UNTRACED:
        raise ValueError(f"EchoNet untraced must be one of {UNTRACED}, got {untraced!r}")
    root = Path(root)
    file_list, tracings_path, videos = root / "FileList.csv", root / "VolumeTracings.csv", root / "Videos"
    for need in (file_list, tracings_path):
        if not need.is_file():
            raise MedicalDataError(f"{root}: no EchoNet-Dynamic table {need.name} here")
    if not videos.is_dir():
        raise MedicalDataError(f"{root}: no EchoNet-Dynamic folder Videos/ here")
    listed = read_file_list(file_list)
    traced = read_tracings(tracings_path)
    unknown = [n for n in traced if n not in listed]
    if unknown:
        first = min(traced[unknown[0]].values(), key=lambda t: t.line)
        raise MedicalDataError(f"{tracings_path}, line {first.line}: traces {unknown[0]}, which {file_list.name} "
                               f"does not list ({len(unknown)} such video(s))")
    chosen = [v for v in listed.values() if split is None or v.split == str(split).strip().upper()]
    if not chosen:
        present = sorted({v.split for v in listed.values()})
        raise MedicalDataError(f"{file_list}: no video of split {split!r} (splits: {present})")
    out: list[VideoFrameRecord] = []
    skipped: list[str] = []
    extra_frames: list[str] = []
    for video in sorted(chosen, key=lambda v: v.name):
        path = videos / video.name
        if not path.is_file():
            raise MedicalDataError(f"{file_list}, line {video.line}: {video.name} is not in {videos}")
        frames = list(traced.get(video.name, {}).values())
        if len(frames) < 2:
            if untraced == "skip":
                skipped.append(video.name)
                continue
            where = f"{tracings_path}, line {frames[0].line}" if frames else str(tracings_path)
            raise MedicalDataError(f"{where}: {video.name} has {len(frames)} traced frame(s), 2 (ED and ES) are "
                                   f"needed (EchoNet's loader leaves such videos out: options untraced: skip)")
        for t in frames:
            if len(t.rows) < MIN_TRACING_ROWS:
                raise MedicalDataError(f"{tracings_path}, line {t.line}: the tracing of frame {t.frame} of "
                                       f"{video.name} has {len(t.rows)} row(s); a polygon needs at least "
                                       f"{MIN_TRACING_ROWS} (the long axis and 2 chords)")
            if t.frame >= video.frames:
                raise MedicalDataError(f"{tracings_path}, line {t.line}: frame {t.frame} of {video.name} is traced, "
                                       f"but the video has {video.frames} frames ({file_list.name}, line "
                                       f"{video.line})")
        if len(frames) > 2:
            extra_frames.append(video.name)
        by_phase = _ed_es(frames)
        stem = Path(video.name).stem
        for phase in phases:
            t = by_phase[phase]
            out.append(VideoFrameRecord(id=f"{stem}_{phase}", subject=video.name, image=path, frame=t.frame,
                                        outline=t.outline(), extra={"phase": phase, "split": video.split}))
    if skipped:
        warnings.warn(f"{tracings_path}: {len(skipped)} video(s) with fewer than 2 traced frames left out "
                      f"(untraced: skip), e.g. {skipped[:5]}", stacklevel=2)
    if extra_frames:
        warnings.warn(f"{tracings_path}: {len(extra_frames)} video(s) with more than 2 traced frames; only the "
                      f"largest (ED) and smallest (ES) outlines are used, e.g. {extra_frames[:5]}", stacklevel=2)
    if not out:
        raise MedicalDataError(f"{file_list}: no video with its two traced frames")
    return out


def _ed_es(frames: list[Tracing]) -> dict[str, Tracing]:
    """{"ED": the largest outline, "ES": the smallest}; on a tie in area the later in file order is ED."""
    order = sorted(range(len(frames)), key=lambda i: (polygon_area(frames[i].outline()), frames[i].line))
    return {"ED": frames[order[-1]], "ES": frames[order[0]]}


def _phases(given: Sequence[str]) -> tuple[str, ...]:
    values = (given,) if isinstance(given, str) else tuple(given)
    norm = tuple(str(v).upper() for v in values)
    if not norm or any(n not in PHASES for n in norm) or len(set(norm)) != len(norm):
        raise ValueError(f"EchoNet phases must be a non-empty choice of {PHASES} without repeats, got {list(values)}")
    return norm
