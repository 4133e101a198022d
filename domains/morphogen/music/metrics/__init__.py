"""Metrics of the chorale and multi-track literature; each a pure function plus an accumulating class."""
from morphogen.music.metrics.frames import voice_frames
from morphogen.music.metrics.harmonization import HarmonizationMetrics, HarmonizationReport
from morphogen.music.metrics.harmony import ChordCounts, chord_counts, is_chord
from morphogen.music.metrics.similarity import HistogramOverlap, duration_histogram, overlap, pitch_class_histogram
from morphogen.music.metrics.voice_leading import (VOICE_RANGES, CrossingCounts, Parallel, ParallelCounts,
                                                    RangeCounts, crossing_counts, find_parallels, parallel_counts,
                                                    range_counts)

__all__ = ["voice_frames", "HarmonizationMetrics", "HarmonizationReport", "ChordCounts", "chord_counts", "is_chord",
           "HistogramOverlap", "duration_histogram", "overlap", "pitch_class_histogram", "VOICE_RANGES",
           "CrossingCounts", "Parallel", "ParallelCounts", "find_parallels", "RangeCounts", "crossing_counts",
           "parallel_counts", "range_counts"]
