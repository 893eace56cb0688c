"""`python -m installer` is the same as the `torch-setup` command."""

from installer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
