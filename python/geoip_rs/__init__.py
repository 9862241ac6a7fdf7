"""geoip_rs: which network, which AS, which organisation, which country, for any IP address.

The core is Rust (a tree-bitmap longest-prefix-match table); ``geoip_rs.reference``
is a pure-Python twin of it that the tests cross-check the Rust code against.
"""

from collections.abc import Mapping as _Mapping

from ._geoip_rs import (
    AsnRanges,
    DatabaseError,
    FormatError,
    MrtRoutes,
    PrefixTable,
    Record,
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
from .database import (
    COUNTRY_ORDER,
    MMDB_COUNTRY_FIELDS,
    SOURCE_KINDS,
    Database,
    MmdbDatabase,
    arrow_schema,
    build_database,
    convert_mmdb,
    default_path,
    open,
    sample_path,
)
from ._history import add_snapshot, build_history
from ._update import UpdateError, UpdateResult, update
from ._history_update import date_range, update_history

# A Mapping to isinstance(); its methods are the extension's own.
_Mapping.register(AsnRanges)

__all__ = [
    "SOURCE_KINDS",
    "COUNTRY_ORDER",
    "MMDB_COUNTRY_FIELDS",
    "arrow_schema",
    "Database",
    "MmdbDatabase",
    "DatabaseError",
    "Record",
    "build_database",
    "convert_mmdb",
    "build_history",
    "add_snapshot",
    "default_path",
    "open",
    "update",
    "update_history",
    "date_range",
    "UpdateError",
    "UpdateResult",
    "sample_path",
    "FormatError",
    "MrtRoutes",
    "PrefixTable",
    "__version__",
    "mrt_routes",
    "read_mrt",
    "read_as2org",
    "read_asnames",
    "read_delegated",
    "AsnRanges",
    "read_ipasn",
    "read_iptoasn",
    "read_pfx2as",
    "write_ipasn",
    "write_pfx2as",
]
