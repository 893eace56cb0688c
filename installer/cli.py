"""Command line front end (placeholder while the engine is built)."""

from __future__ import annotations

import argparse
import sys

from installer import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="torch-setup")
    parser.add_argument("--version", action="version", version=f"torch-setup {__version__}")
    parser.parse_args(argv)
    return 0


def gui_main() -> int:
    return main([])


if __name__ == "__main__":
    sys.exit(main())
