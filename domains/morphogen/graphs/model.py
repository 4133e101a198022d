"""A trained GDSS model: the core :class:`~morphogen.bundle.ModelBundle` plus the graph data that sampling needs.

```python
from morphogen import bundle
model = bundle.load("qm9")                      # a GraphModel
s = model.generate(1000, seed=0)                # the default sampler: S4, GDSS's QM9 settings, 200 steps
s.x, s.adj, s.mask                              # (1000, 9, 4), (1000, 9, 9), (1000, 9)
model.generate(100, sampler="heun", steps=100, device="cuda")
```
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor

from morphogen.bundle.model import ModelBundle
from morphogen.samplers.spec import SamplerSpec

DEFAULT_BATCH_SIZE = 1024


@dataclass
class GraphSamples:
    """Generated graphs, on the CPU.

    Attributes:
        x: (B, N, F) node features (molecules: scores of the atom types, decoded by argmax).
        adj: (B, N, N) symmetric weighted adjacency (molecules: bond orders after rounding); zero on padding.
        mask: (B, N) bool, True for the nodes drawn for each graph (the first ``count`` of N).
        nfe: network evaluations per sample.
        seconds: wall time of the sampling.
        sampler: the sampler that drew them, with all its arguments.
    """

    x: Tensor
    adj: Tensor
    mask: Tensor
    nfe: int
    seconds: float
    sampler: SamplerSpec

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass(kw_only=True, eq=False)
class GraphModel(ModelBundle):
    """A GDSS model (fields ``X`` (B, N, F) and ``A`` (B, N, N)) with the data it was trained on described.

    Attributes:
        feature_names: the meaning of the F columns of X (molecules: element symbols; generic graphs: degrees).
        max_nodes: N, the padding of every graph.
        node_count_hist: N + 1 counts, entry n the number of training graphs with n nodes; sampling draws each
            graph's node count from it (GDSS's ``init_flags``).
        molecules: whether the graphs are molecules (X one-hot elements, A bond orders 1/2/3): their samples are
            decoded into SMILES, otherwise written as plain graphs.
    """

    domain: ClassVar[str] = "graphs"

    feature_names: list[str]
    max_nodes: int
    node_count_hist: list[int]
    molecules: bool

    def __post_init__(self):
        super().__post_init__()
        self.feature_names = [str(f) for f in self.feature_names]
        self.node_count_hist = [int(c) for c in self.node_count_hist]
        self.max_nodes, self.molecules = int(self.max_nodes), bool(self.molecules)
        if len(self.node_count_hist) != self.max_nodes + 1:
            raise ValueError(f"node_count_hist has {len(self.node_count_hist)} entries; max_nodes = {self.max_nodes} "
                             f"needs {self.max_nodes + 1} (counts of graphs with 0 .. N nodes)")
        if min(self.node_count_hist) < 0 or sum(self.node_count_hist[1:]) == 0:
            raise ValueError(f"node_count_hist {self.node_count_hist}: counts must be >= 0, with some graph of >= 1 "
                             f"node")
        if not self.feature_names:
            raise ValueError("feature_names is empty (one name per node-feature column)")

    # -- the file's domain part -------------------------------------------------------------------------------------
    def domain_config(self) -> dict[str, Any]:
        return {"feature_names": list(self.feature_names), "max_nodes": self.max_nodes,
                "node_count_hist": list(self.node_count_hist), "molecules": self.molecules}

    @classmethod
    def parse_domain_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        missing = [k for k in ("feature_names", "max_nodes", "node_count_hist", "molecules") if k not in config]
        if missing:
            raise KeyError(f"domain_config lacks {missing}")
        return {"feature_names": list(config["feature_names"]), "max_nodes": int(config["max_nodes"]),
                "node_count_hist": list(config["node_count_hist"]), "molecules": bool(config["molecules"])}

    # -- sampling ---------------------------------------------------------------------------------------------------
    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    def generate(self, num_samples: int, *, sampler: str | SamplerSpec | None = None, steps: int | None = None,
                 seed: int = 0, batch_size: int | None = None, device: str | torch.device | None = None,
                 progress: bool = False) -> GraphSamples:
        """Draw ``num_samples`` graphs: per batch, node counts from :attr:`node_count_hist`, the node and pair masks,
        then the reverse process through the core sampler (the default, or ``sampler`` / ``steps`` combined with it
        by the rule of :mod:`morphogen.samplers.spec`).

        ``device``: where to sample (the model is moved there, in place; default: where it is). One generator on
        that device, seeded with ``seed``, draws the node counts and the noise, batch after batch, so a seed gives
        the same graphs for the same batch size, sampler and device. ``batch_size``: graphs per network batch
        (default 1,024). Returns :class:`GraphSamples` (on the CPU).

        Speed (CPU): the loop runs under ``torch.inference_mode`` and keeps freed memory for reuse
        (:func:`morphogen.utils.allocator.keep_freed_memory`, once per process)."""
        from morphogen.graphs.data.dense import graph_masks
        from morphogen.utils.allocator import keep_freed_memory
        from morphogen.utils.padding import CountHistogram, mask_from_counts

        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        bs = int(batch_size or DEFAULT_BATCH_SIZE)
        if bs < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if device is not None:
            self.to(device)
        dev = self.device
        keep_freed_memory()  # each step frees and reallocates the same temporaries (morphogen.utils.allocator)
        smp = self.make_sampler(sampler, steps)
        self.denoiser.eval()
        gen = torch.Generator(device=dev).manual_seed(int(seed))
        hist = CountHistogram.from_list(self.node_count_hist)
        n, f = self.max_nodes, self.num_features
        xs, adjs, masks, nfe, t0 = [], [], [], 0, time.time()
        # inference mode: no autograd bookkeeping at all (about 7 % of a CPU step here); the concatenations below,
        # outside it, return ordinary tensors
        with torch.inference_mode():
            for start in range(0, num_samples, bs):
                b = min(bs, num_samples - start)
                counts = hist.sample(b, gen)
                mask = mask_from_counts(counts, n)
                res = smp.sample(self.process, self.denoiser, {"X": (b, n, f), "A": (b, n, n)},
                                 masks=graph_masks(mask), generator=gen, device=dev, progress=progress)
                xs.append(res.fields["X"].cpu())
                adjs.append(res.fields["A"].cpu())
                masks.append(mask.cpu())
                nfe = res.nfe
        x, adj, mask = torch.cat(xs), torch.cat(adjs), torch.cat(masks)
        return GraphSamples(x, adj, mask, nfe, time.time() - t0, SamplerSpec.of(smp))
