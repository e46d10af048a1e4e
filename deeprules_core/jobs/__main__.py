"""``python -m deeprules_core.jobs JOB_ID [ATTEMPT]``: the process of one local job."""

from __future__ import annotations

import sys

from ._run import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
