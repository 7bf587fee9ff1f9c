"""``python -m singaffect COMMAND``: the same as the ``singaffect`` console command."""
import sys

from singaffect.cli import main

if __name__ == "__main__":
    sys.exit(main())
