"""A piano-roll picture of a :class:`NoteScore`: one colour per track, notes as bars, bar lines every bar."""
from __future__ import annotations

from pathlib import Path

from morphogen.music.data.notes import NoteScore


def plot_pianoroll(score: NoteScore, ax=None, title: str | None = None, highlight: list[str] | None = None):
    """Draw on ``ax`` (a new figure when None) and return the axes. Tracks in ``highlight`` (e.g. the generated
    ones) are drawn opaque, the others faded. Drum tracks are drawn as ticks along the bottom."""
    import matplotlib

    if ax is None:  # a pyplot-free figure: leaves the caller's (e.g. a notebook's) backend alone
        from matplotlib.figure import Figure

        ax = Figure(figsize=(max(6.0, score.end / 24), 4.0), dpi=110).subplots()
    cmap = matplotlib.colormaps["tab10"]
    pitched = [n.pitch for t in score.tracks if not t.is_drum for n in t.notes] or [60]
    lo, hi = min(pitched) - 2, max(pitched) + 2
    handles = []
    for i, t in enumerate(score.tracks):
        if not t.notes:
            continue
        color = cmap(i % 10)
        alpha = 0.9 if highlight is None or t.name in highlight else 0.35
        for n in t.notes:
            y = lo - 1 if t.is_drum else n.pitch - 0.4
            ax.add_patch(matplotlib.patches.Rectangle((n.onset, y), n.duration, 0.8, color=color, alpha=alpha, lw=0))
        handles.append(matplotlib.patches.Patch(color=color, alpha=alpha, label=t.name))
    for x in range(0, score.end + 1, score.steps_per_bar):
        ax.axvline(x, color="0.85", lw=0.6, zorder=0)
    ax.set_xlim(0, max(score.end, 1))
    ax.set_ylim(lo - 2, hi + 1)
    ax.set_xlabel("time (16th notes)")
    ax.set_ylabel("MIDI pitch")
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=7, ncol=len(handles))
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def write_pianoroll(score: NoteScore, path: str | Path, title: str | None = None,
                    highlight: list[str] | None = None) -> Path:
    """The piano roll as a picture (the format of the suffix of ``path``, e.g. ``.png``), written atomically."""
    from morphogen.utils.outputs import atomic_figure

    ax = plot_pianoroll(score, title=title, highlight=highlight)
    ax.figure.tight_layout()
    return atomic_figure(path, ax.figure)
