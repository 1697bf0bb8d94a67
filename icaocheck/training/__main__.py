import sys

from icaocheck.training.command import main

sys.exit(main())
