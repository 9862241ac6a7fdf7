"""geoip_rs: which network, which AS, which organisation, which country, for any IP address.

The core is Rust (a tree-bitmap longest-prefix-match table); ``geoip_rs.reference``
is a pure-Python twin of it that the tests cross-check the Rust code against.
"""

from ._geoip_rs import (
    FormatError,
    MrtRoutes,
    PrefixTable,
    __version__,
    mrt_routes,
    read_mrt,
    read_as2org,
    read_asnames,
    read_delegated,
    read_ipasn,
    read_iptoasn,
    read_pfx2as,
    write_ipasn,
    write_pfx2as,
)

__all__ = [
    "FormatError",
    "MrtRoutes",
    "PrefixTable",
    "__version__",
    "mrt_routes",
    "read_mrt",
    "read_as2org",
    "read_asnames",
    "read_delegated",
    "read_ipasn",
    "read_iptoasn",
    "read_pfx2as",
    "write_ipasn",
    "write_pfx2as",
]
