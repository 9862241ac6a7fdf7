"""``python -m geoip_rs``: the ``geoip-rs`` command."""

import sys

from .cli import main

sys.exit(main())
