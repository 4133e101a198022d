"""The denoiser contract: (noisy fields, t, condition) -> one prediction per field, each of a declared kind."""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

from torch import Tensor

from morphogen.processes.base import FieldState


@runtime_checkable
class Denoiser(Protocol):
    """Anything callable as ``denoiser(state, condition=None, drop_condition=None)``.

    Args (of the call):
        state: field name -> :class:`FieldState` (noisy value, t (B,), padding mask, extras).
        condition: whatever the model is conditioned on (a tensor (B, ...), a dict of tensors) or None.
        drop_condition: optional (B,) bool; True rows must be treated as unconditional (classifier-free guidance
            trains with random drops and samples with all-True for the unconditional branch).

    Returns:
        field name -> prediction tensor shaped like that field's value (logits add a trailing class dimension).

    Attribute:
        prediction_kinds: field name -> kind ("noise", "x1", "score", "velocity", "logits", ...).
    """

    prediction_kinds: Mapping[str, str]

    def __call__(
        self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None
    ) -> dict[str, Tensor]: ...
