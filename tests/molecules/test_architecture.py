"""morphogen.molecules depends on the core only: graphs (and spectra) import it, never the reverse."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "domains" / "morphogen" / "molecules"
DOMAINS = ("graphs", "crystals", "spectra", "music", "medical")


def test_molecules_source_imports_no_domain():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                          if any(n == f"morphogen.{d}" or n.startswith(f"morphogen.{d}.") for d in DOMAINS)]
    assert not offenders, "\n".join(offenders)


def test_importing_molecules_loads_no_domain_and_no_rdkit():
    mods = sorted("morphogen.molecules." + p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    code = ("import sys, importlib\n"
            f"for m in {mods!r}:\n    importlib.import_module(m)\n"
            f"bad = [m for m in sys.modules if m.split('.')[:2] in [['morphogen', d] for d in {DOMAINS!r}]]\n"
            "bad += [m for m in ('rdkit', 'networkx', 'fcd', 'qm9pack') if m in sys.modules]\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
