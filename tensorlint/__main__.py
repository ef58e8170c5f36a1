"""`python -m tensorlint` runs the command-line interface."""
import sys

from tensorlint.adapters.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
