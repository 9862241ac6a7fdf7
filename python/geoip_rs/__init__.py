"""geoip_rs: which network, which AS, which organisation, which country, for any IP address.

The core is Rust (a tree-bitmap longest-prefix-match table); ``geoip_rs.reference``
is a pure-Python twin of it that the tests cross-check the Rust code against.
"""

from ._geoip_rs import (
    FormatError,
    PrefixTable,
    __version__,
    read_as2org,
    read_asnames,
    read_delegated,
    read_ipasn,
    write_ipasn,
)

__all__ = [
    "FormatError",
    "PrefixTable",
    "__version__",
    "read_as2org",
    "read_asnames",
    "read_delegated",
    "read_ipasn",
    "write_ipasn",
]
