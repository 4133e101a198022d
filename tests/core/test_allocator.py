"""morphogen.utils.allocator: glibc's thresholds set once per process, the opt-out honoured, nothing elsewhere."""
import os
import platform
import subprocess
import sys

CODE = "from morphogen.utils.allocator import keep_freed_memory as k; a = k(); print(a, k() is a)"


def _run(env_value):
    env = dict(os.environ)
    env.pop("MORPHOGEN_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["MORPHOGEN_KEEP_FREED_MEMORY"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_applied_on_glibc_once_and_opt_out():
    applied, again = _run(None)
    assert again == "True"  # the second call returns the first call's answer
    assert applied == ("True" if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc" else "False")
    assert _run("0") == ["False", "True"]
