import sys

from channelwatch.cli import main

sys.exit(main())
