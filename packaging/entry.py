"""Entry script of the frozen app (build.spec): start-up fixes first, then the normal command line.

No arguments opens the wizard; any arguments run the CLI (installer.cli.main decides).
"""

from installer.core.frozen import prepare_frozen_runtime

if __name__ == "__main__":
    prepare_frozen_runtime()

    import sys

    from installer.cli import main

    sys.exit(main())
