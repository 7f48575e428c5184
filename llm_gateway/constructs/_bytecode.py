"""Bytecode for what the functions import at init, compiled by the runtime's own Python.

Lambda's ``/var/task`` is read-only, so a module shipped as source is compiled again on every cold
start: about 130 ms of the gateway's 570 ms init on a full core here, and a 512 MB function has a
third of one. Only the modules imported at init are compiled (about 260), so the zip grows by
about 1 MB, not the 3 MB of the whole tree. They are found by importing the handlers under that
Python; Lambda's arm64 wheels cannot load on another machine, so the import runs in a copy of the
asset built with this machine's wheels. Best effort: without a Python of the runtime's version the
asset ships as source only, which Lambda runs all the same, just slower to start.
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

# Imports every entry module, and every module of the package where it can (which of them a
# function imports depends on its settings; some need an optional dependency), then compiles
# the package and each other source file loaded from the asset. With relative file names, so that
# the bytes (and the asset hash) do not depend on where it was built; "unchecked-hash": Lambda
# never reads the source to validate them.
_TRACE_AND_COMPILE = """
import importlib, os, pathlib, py_compile, sys
traced, shipped, package, entries = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
own = sorted(p.relative_to(traced).as_posix() for p in (traced / package).rglob("*.py"))
for entry in entries:
    importlib.import_module(entry)
for file in own:
    try:
        importlib.import_module(file.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    except ImportError:
        pass
loaded = {os.path.relpath(m.__file__, traced) for m in list(sys.modules.values())
          if (getattr(m, "__file__", None) or "").endswith(".py")
          and os.path.abspath(m.__file__).startswith(str(traced.resolve()) + os.sep)}
for file in sorted(loaded | set(own)):
    py_compile.compile(os.path.join(shipped, file), dfile=file, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(len(loaded | set(own)))
"""


# Lambda's environment as the functions' init sees it (tracing on: the X-Ray SDK patches at import),
# without an account or a Runtime API (the gateway's extension does not register).
INIT_ENVIRONMENT = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                    "AWS_LAMBDA_FUNCTION_NAME": "init-trace", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
                    "PYTHONDONTWRITEBYTECODE": "1", "POWERTOOLS_LOG_LEVEL": "CRITICAL",
                    "PYTHONHASHSEED": "0"}  # sets in constants marshal in hash order: the same bytes each build


def find_python(version: str) -> str:
    """An interpreter of this version (the Lambda runtime's): ours, on PATH, or a pyenv install."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}") or "",
                  *sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"), reverse=True)]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise FileNotFoundError(f"no Python {version} here (the Lambda runtime's); install it to run the function")


def precompile_init_path(asset: Path, lock_file: Path, python_version: str, entry_modules: list[str], *,
                         package: str, same_platform: bool) -> int:
    """Compile, in ``asset``, ``package`` and the modules it and the entry modules import; the number
    compiled (0: none). Without ``same_platform`` the trace runs on this machine's wheels of
    ``lock_file`` and a copy of ``package``."""
    try:
        python = find_python(python_version)
    except FileNotFoundError as missing:
        warnings.warn(f"{missing}: the code asset ships without bytecode (slower cold starts)", stacklevel=2)
        return 0
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "--python-version", python_version, "--only-binary=:all:"]
    with tempfile.TemporaryDirectory(prefix="llm-gateway-trace-") as work:
        traced, runtime = (asset if same_platform else Path(work) / "asset"), Path(work) / "runtime"
        if not same_platform:
            subprocess.run([*pip, "--no-deps", "--requirement", str(lock_file), "--target", str(traced)], check=True)
            shutil.copytree(asset / package, traced / package)
        # The runtime's own boto3 (not in the asset), at the version this machine has.
        subprocess.run([*pip, "--target", str(runtime), f"boto3=={importlib.metadata.version('boto3')}"], check=True)
        environment = {**INIT_ENVIRONMENT, "PATH": os.environ.get("PATH", ""), "LAMBDA_TASK_ROOT": str(traced),
                       "PYTHONPATH": os.pathsep.join([str(traced), str(runtime)])}
        done = subprocess.run([python, "-c", _TRACE_AND_COMPILE, str(traced), str(asset), package, *entry_modules],
                              env=environment, cwd=work, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        warnings.warn(f"the code asset ships without bytecode: tracing its imports failed:\n{done.stderr[-2000:]}",
                      stacklevel=2)
        return 0
    return int(done.stdout.split()[-1])
