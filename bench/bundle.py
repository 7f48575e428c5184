"""Issue 7's figures: the gateway's code asset as `cdk deploy` uploads it (bundled for Lambda's
arm64 by the construct's own bundler, zipped as cdk-assets zips), and what weighs in it.
Printed, not asserted. Run with `make bench`."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import aws_cdk as cdk

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
from app import build_app  # noqa: E402
from llm_gateway.local.artifact import code_asset, zip_asset  # noqa: E402

MB = 1_000_000


def main() -> None:
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], "env": "dev",
               "aws:cdk:enable-asset-metadata": True}
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as work:
        app = build_app(cdk.App(context=context, outdir=f"{work}/cdk.out"))
        template = dict(app.synth().get_stack_by_name("LlmGateway-dev").template)
        asset = code_asset(Path(work) / "cdk.out", template)
        zipped = zip_asset(asset.directory, Path(work) / "code.zip").stat().st_size
        parts = sorted(((sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir()
                         else p.stat().st_size, p.name) for p in asset.directory.iterdir()), reverse=True)
        print("\n== bundle ==")
        print(f"Code asset (shared by {len(asset.functions)} functions, arm64): {zipped / MB:.2f} MB zipped, "
              f"{asset.size() / MB:.2f} MB unzipped (before issue 7: 18.9 MB zipped, 41 MB unzipped)")
        print("Largest parts: " + ", ".join(f"{name} {size / MB:.2f} MB" for size, name in parts[:6]))


if __name__ == "__main__":
    main()
