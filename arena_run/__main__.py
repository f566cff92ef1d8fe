import sys

from arena_run.cli import main

sys.exit(main())
