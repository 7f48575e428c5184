"""What users receive, rebuilt here to be run: the code asset as ``cdk deploy`` uploads it, unpacked
as Lambda unpacks it, and an interpreter standing in for the managed Python runtime.

The tests start every function from this (DESIGN.md section 8) and ``make bench`` weighs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_gateway.constructs._bytecode import find_python
from llm_gateway.local.cloudformation import PACKAGE

# What the managed runtime provides beside the code asset; the asset leaves it out (see the lock).
RUNTIME_PACKAGES = ("boto3",)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # cdk-assets resets every date so that equal content hashes equal


@dataclass(frozen=True)
class CodeAsset:
    directory: Path  # the bundled asset in the cloud assembly
    functions: dict[str, dict[str, Any]]  # logical id -> the template's function properties

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.directory.rglob("*") if f.is_file())


def code_asset(outdir: Path, template: dict[str, Any]) -> CodeAsset:
    """The one code asset the stack's functions share (asset metadata must be enabled); CDK's own
    functions (the dashboard's upload) are not the package's."""
    functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
                 and r["Properties"].get("Handler", "").startswith(PACKAGE)}
    paths = {r["Metadata"]["aws:asset:path"] for r in functions.values()}
    if len(paths) != 1:
        raise ValueError(f"expected one code asset for all functions, found {sorted(paths)}")
    return CodeAsset(outdir / paths.pop(), {k: r["Properties"] for k, r in functions.items()})


def zip_asset(directory: Path, archive: Path) -> Path:
    """Zip a directory as cdk-assets does: files in sorted order, fixed dates, modes kept."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), ZIP_DATE)
            info.external_attr = (path.stat().st_mode & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return archive


def unzip_asset(archive: Path, task_root: Path) -> Path:
    """Unpack as Lambda does into ``LAMBDA_TASK_ROOT``, permissions included (an executable
    handler script stays executable only if the zip says so)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, task_root))
            mode = info.external_attr >> 16
            if mode:
                target.chmod(mode & 0o777)
    return task_root


def lambda_runtime(version: str, directory: Path, constraints: Path) -> tuple[str, Path]:
    """A bare interpreter of the runtime's version (a venv without pip: nothing but the standard
    library) and the runtime's own libraries (``LAMBDA_RUNTIME_DIR``), at the locked versions."""
    venv, runtime_dir = directory / "python", directory / "runtime"
    if not (venv / "bin" / "python").exists():
        subprocess.run([find_python(version), "-m", "venv", "--without-pip", str(venv)], check=True)
    if not runtime_dir.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--target", str(runtime_dir), "--python-version", version, "--only-binary=:all:",
                        "--no-compile", "--constraint", str(constraints), *RUNTIME_PACKAGES], check=True)
        # Compiled by the runtime's Python, as the managed runtime ships its boto3.
        subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(runtime_dir)],
                       check=True, stdout=subprocess.DEVNULL)
    return str(venv / "bin" / "python"), runtime_dir


def runtime_version(properties: dict[str, Any]) -> str:
    """``python3.13`` -> ``3.13``."""
    return str(properties["Runtime"]).removeprefix("python")


def manifest_stack(outdir: Path, name: str) -> dict[str, Any]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    template_file = manifest["artifacts"][name]["properties"]["templateFile"]
    return dict(json.loads((outdir / template_file).read_text()))
