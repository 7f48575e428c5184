"""``python -m llm_gateway`` (or the ``llm-gateway`` script): operator commands."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    try:
        from llm_gateway import cache_cli, keys_cli, squad_cli
    except ModuleNotFoundError as missing:
        raise SystemExit(f"error: {missing.name} is not installed: pip install 'llm-gateway[cli]'") from None
    parser = argparse.ArgumentParser(prog="llm-gateway")
    commands = parser.add_subparsers(dest="group", required=True)
    keys_cli.add_parser(commands)
    cache_cli.add_parser(commands)
    squad_cli.add_parser(commands)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
