"""Symbolic music after GETMusic (Lv et al. 2023): any-track generation by masked discrete diffusion over a
track x time token grid (GETScore).

Rooms: :mod:`.data` (GETScore representation, vocabulary, readers for MIDI folders, the music21 Bach chorales and
the JSB chorales JSON, training datasets), :mod:`.models` (the RoFormer-style denoiser and the saved-model bundle),
:mod:`.metrics` (voice leading, harmony, histogram similarity, NLL bound), :mod:`.io` (MIDI, MusicXML, piano
roll), ``presets/`` (YAML) and :mod:`.cli` (``morphogen music ...``).

This module imports nothing heavy so that the command line starts fast.
"""
