"""Sampler names: core built-ins, installed entry points (found without importing their package), run-time ones."""
from __future__ import annotations

import subprocess
import sys

import pytest

from morphogen.samplers import (
    Sampler, UnknownSamplerError, get_sampler, register_sampler, sampler_entries, sampler_names, unregister_sampler,
)
from morphogen.samplers.ancestral import Ancestral


def test_domain_sampler_is_found_in_a_fresh_process_without_importing_its_domain():
    code = (
        "import sys\n"
        "from morphogen.samplers import get_sampler, sampler_names\n"
        "def domains():\n"
        "    return [m for m in sys.modules if m.startswith('morphogen.graphs')]\n"
        "assert 's4' in sampler_names(), sampler_names()\n"
        "assert not domains(), 'listing the names imported ' + str(domains())\n"
        "s = get_sampler('s4', steps=7)\n"
        "assert type(s).__module__ == 'morphogen.graphs.samplers.s4' and s.steps == 7\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_unknown_name_lists_every_known_sampler():
    with pytest.raises(UnknownSamplerError) as info:
        get_sampler("heum")
    msg = str(info.value)
    assert msg.startswith("unknown sampler 'heum'; known samplers: ")
    for name in sampler_names():
        assert name in msg
    assert "s4 (entry point of morphogen)" in msg and "did you mean 'heun'?" in msg
    assert isinstance(info.value, KeyError)  # callers that caught KeyError keep working


def test_entries_say_where_each_sampler_comes_from():
    origin = {e.name: e.origin for e in sampler_entries()}
    assert origin["heun"] == "core" and origin["s4"] == "entry point of morphogen"
    assert [e.name for e in sampler_entries() if e.is_core][:3] == ["ancestral", "euler_maruyama", "pc"]


class _Mine(Ancestral):
    name = "mine"


def test_run_time_registration_of_a_users_sampler():
    register_sampler("mine", _Mine)
    try:
        assert isinstance(get_sampler("mine", steps=2), _Mine)
        assert "mine" in sampler_names()
        with pytest.raises(ValueError, match="already known"):
            register_sampler("mine", _Mine)
        register_sampler("mine", "morphogen.samplers.ancestral:Ancestral", replace=True)
        assert type(get_sampler("mine")) is Ancestral
    finally:
        unregister_sampler("mine")
    assert "mine" not in sampler_names()
    with pytest.raises(ValueError, match="core sampler"):
        register_sampler("heun", _Mine)
    with pytest.raises(ValueError, match="already known"):
        register_sampler("s4", _Mine)


def test_broken_targets_are_named():
    register_sampler("ghost", "morphogen.samplers.no_such_module:Ghost")
    register_sampler("notasampler", "morphogen.samplers.registry:SamplerEntry")
    try:
        with pytest.raises(ImportError, match=r"sampler 'ghost' \(registered at run time: morphogen.samplers.no_such"):
            get_sampler("ghost")
        with pytest.raises(TypeError, match="'notasampler'.*is not a morphogen Sampler"):
            get_sampler("notasampler")
    finally:
        unregister_sampler("ghost")
        unregister_sampler("notasampler")
    assert issubclass(_Mine, Sampler)
