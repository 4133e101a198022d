"""Model bundles: one container and one file format for the trained models of every domain.

```python
from morphogen import bundle
m = bundle.load("qm9")            # any domain's shipped model, a run folder or a file
m.domain, m.process, m.denoiser, m.sampler, m.metadata
m.to("cuda").save("copy.safetensors")
```
"""
from morphogen.bundle.model import FORMAT, FORMAT_VERSION, BundleMetadata, ModelBundle
from morphogen.bundle.preset import Preset, PresetError, load_preset, parse_preset
from morphogen.bundle.store import convert_file, load, resolve, shipped_models

__all__ = ["FORMAT", "FORMAT_VERSION", "BundleMetadata", "ModelBundle", "Preset", "PresetError", "convert_file", "load",
           "load_preset", "parse_preset", "resolve", "shipped_models"]
