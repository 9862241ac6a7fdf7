"""Type stubs for the Rust extension module ``geoip_rs._geoip_rs``."""

import datetime as _dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Literal, TypeAlias, TypedDict, TypeVar, final, overload, type_check_only

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, disjoint_base

__all__ = [
    "DbIter",
    "Database",
    "MmdbDatabase",
    "MmdbIter",
    "_to_mmdb",
    "_file_kind",
    "_compile_mmdb",
    "Record",
    "arrow_schema",
    "PrefixTable",
    "__version__",
    "FormatError",
    "read_ipasn",
    "write_ipasn",
    "read_pfx2as",
    "write_pfx2as",
    "read_iptoasn",
    "read_mrt",
    "mrt_routes",
    "MrtRoutes",
    "read_as2org",
    "read_delegated",
    "AsnRanges",
    "AsnIter",
    "read_asnames",
    "_build_database",
    "_build_history",
    "_seconds",
    "DatabaseError",
    "RECORD_FIELDS",
    "EXPORT_FORMATS",
    "ORIGIN_POLICIES",
    "SOURCE_KINDS",
    "COUNTRY_ORDER",
    "MMDB_COUNTRY_FIELDS",
]

_T = TypeVar("_T")

Address: TypeAlias = str | int | bytes | IPv4Address | IPv6Address
"""An IP address: ``"192.0.2.1"``, ``"2001:db8::1"``, an ``int`` (below 2**32 it is
IPv4, as ``ipaddress.ip_address`` reads it), packed ``bytes`` (4 or 16) or an
``ipaddress`` address."""

Network: TypeAlias = (
    str | IPv4Network | IPv6Network | tuple[Address, int] | Address
)
"""A prefix: ``"192.0.2.0/24"``, an ``ipaddress`` network, an ``(address, prefixlen)``
tuple, or an address (a host prefix, /32 or /128), as ``ipaddress.ip_network`` reads it."""

AnyNetwork: TypeAlias = IPv4Network | IPv6Network

Progress: TypeAlias = bool | Callable[[int, int], object] | None
"""``progress=`` of the readers: True for a ``tqdm.auto`` bar (if tqdm is installed),
or a callable taking ``(done, total)`` bytes of the file; it is called about every
0.1 s from the reading thread. Ctrl-C interrupts a load with ``KeyboardInterrupt``."""

OnError: TypeAlias = Literal["raise", "skip"]
"""``on_error=`` of the readers: ``"raise"`` stops at the first malformed item with a
``FormatError`` naming the file and line or record; ``"skip"`` keeps what was read and
counts what was skipped, and why, in the summary."""

RECORD_FIELDS: tuple[tuple[str, str, str], ...]
"""The fields of a :class:`Record`, in order, as ``(name, type, meaning)``; the type
is one of ``address``, ``network``, ``asn``, ``origins``, ``text`` or ``code`` (a
country code or source: few distinct values)."""

EXPORT_FORMATS: tuple[str, ...]
"""The formats ``geoip-rs export`` writes."""

ORIGIN_POLICIES: tuple[str, ...]
"""The values of ``origin_policy``, the default first."""

RowError: TypeAlias = Literal["raise", "null"]
"""``on_error=`` of the batch lookups: ``"raise"`` fails on the first malformed address
with a ``ValueError`` naming its row; ``"null"`` makes it a row without an address."""

@type_check_only
class ArrowExporter:
    """Anything that exports Arrow data through the PyCapsule interface."""

    def __arrow_c_stream__(self, requested_schema: object = None) -> object: ...

Addresses: TypeAlias = (
    ArrowExporter | npt.NDArray[np.uint32] | npt.NDArray[np.uint8] | Iterable[Address | None]
)
"""Many addresses: an Arrow column, a numpy array (``uint32`` IPv4 or ``(N, 16)``
``uint8`` IPv6) or an iterable of addresses."""

Time: TypeAlias = _dt.datetime | _dt.date | int | float | str | np.datetime64
"""One time: a datetime (naive ones are UTC), a date (its midnight UTC), Unix
seconds, a numpy ``datetime64`` or ``YYYY-MM-DD[THH:MM:SSZ]``."""

Times: TypeAlias = ArrowExporter | npt.NDArray[np.datetime64] | npt.NDArray[np.int64] | Sequence[Time]
"""One time per address: a numpy ``datetime64`` or integer (Unix seconds) array, an
Arrow timestamp, date or integer column, or a list of times."""

@type_check_only
class ArrowTable(ArrowExporter):
    """An Arrow table (pyo3-arrow's, arro3's ``Table``): hand it to
    ``pyarrow.table``, ``polars.DataFrame`` or DuckDB; ``num_rows``, ``schema`` and
    ``column_names`` tell its shape."""

    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    @property
    def schema(self) -> object: ...

def arrow_schema(columns: Sequence[str] | None = None) -> object:
    """The Arrow schema of ``Database.to_arrow(addresses, columns)`` (an object with
    ``__arrow_c_schema__``: ``pyarrow.schema(arrow_schema())``): every record field
    in the core's order, the prefix's length (``uint8``) after the prefix; the
    address and prefix as ``utf8``, AS numbers as ``uint32``, origins as
    ``list<uint32>``, the text fields dictionary-encoded (``dictionary<int32,
    utf8>``); every column nullable. An unknown name raises ``ValueError``."""

Summary: TypeAlias = dict[str, Any]
"""What a reader read: ``records`` (lines or MRT records), ``prefixes``, ``entries``,
``skipped`` (a dict of reason -> count), ``errors`` (the first messages of skipped
items) and ``truncated`` (the input ended early)."""

class FormatError(ValueError):
    """A data file's content does not follow its format (a bad line or record, or a
    truncated or corrupt compressed stream). The message names the file and the line,
    record or byte offset."""

def read_ipasn(
    path: str | os.PathLike[str], *, on_error: OnError = "raise", progress: Progress = None
) -> tuple[PrefixTable, Summary]:
    """Read a pyasn ipasn file (plain or gzip/bzip2, told by content) into a table of
    ``prefix -> ASN``."""

def write_ipasn(
    table: PrefixTable, path: str | os.PathLike[str], *, header: list[str] | None = None
) -> None:
    """Write a table whose values are AS numbers as a pyasn ipasn file (``header``
    lines become ``;`` comments). ``ValueError`` if a value is not an AS number."""

Origin: TypeAlias = int | frozenset[int]
"""One origin of a pfx2as prefix: an AS number, or the members of an AS set."""

Pfx2asValue: TypeAlias = int | tuple[Origin, ...]
"""The value of a prefix in a table from ``read_pfx2as``: an ``int`` when the prefix has
exactly one origin that is a plain AS, otherwise a tuple of its origins in file order
(CAIDA orders multiple origins by how many RouteViews peers saw each), each an ``int``
or a ``frozenset[int]`` for an AS set (two or more members)."""

def read_pfx2as(
    path: str | os.PathLike[str], *, on_error: OnError = "raise", progress: Progress = None
) -> tuple[PrefixTable, Summary]:
    """Read a CAIDA RouteViews prefix-to-AS file (``routeviews-rv2-*.pfx2as.gz`` for
    IPv4, ``rv6`` for IPv6; plain or gzip/bzip2) into a table of
    ``prefix -> Pfx2asValue``.

    Lines are ``network<TAB>prefixlen<TAB>origins``: origins joined with ``_`` are
    several origins (a multi-origin prefix), and ``,`` inside one origin makes it an AS
    set. For example ``1.0.0.0 24 15169`` gives ``15169``,
    ``1.2.4.0 24 24151_24409_24406`` gives ``(24151, 24409, 24406)`` and
    ``x 16 1,2`` gives ``(frozenset({1, 2}),)``.

    Returns:
        The table and the summary (``prefixes`` and ``entries``: the data lines).

    Raises:
        FormatError: a malformed line (naming file and line), or a truncated or corrupt
            compressed file; with ``on_error="skip"`` these are counted instead.
        FileNotFoundError: no such file.
    """

def write_pfx2as(table: PrefixTable, path: str | os.PathLike[str]) -> None:
    """Write a table whose values have the shapes ``read_pfx2as`` gives (see
    ``Pfx2asValue``) as a pfx2as file, so that reading it back gives an equal table.

    Raises:
        ValueError: naming the first prefix whose value is not an AS number (an ``int``
            in 0..2**32-1) or a tuple of two or more origins (or of one AS set), each an
            AS number or a ``frozenset`` of two or more AS numbers.
        OSError: the file cannot be written.
    """

IptoasnValue: TypeAlias = tuple[int, str | None, str]
"""The value of a prefix in a table from an iptoasn ``ip2asn`` file:
``(asn, country, description)``, e.g. ``(2500, "JP", "WIDE-BB WIDE Project")``. The
country is that of the AS's registration, ``None`` where the file says ``None``;
iptoasn also writes ``"Unknown"``, which is kept as it is."""

def read_iptoasn(
    path: str | os.PathLike[str], *, on_error: OnError = "raise", progress: Progress = None
) -> tuple[PrefixTable, Summary]:
    """Read an iptoasn.com TSV file (plain or gzip/bzip2) into a prefix table.

    Two layouts are read, told apart by the column count of the first data line (a
    line of the other layout later on is a malformed line):

    - ip2asn (``ip2asn-v4.tsv.gz``, ``-v6``, ``-combined``):
      ``range_start range_end AS_number country_code AS_description``; each value is
      an ``IptoasnValue`` tuple. Rows of AS 0 (unrouted space) are left out and counted
      in ``summary["skipped"]["not routed"]``.
    - ip2country (``ip2country-v4.tsv.gz``, ``-v6``): ``range_start range_end
      country_code``; each value is the country code (a ``str``). Rows without a
      country (``None`` or empty) are left out, counted under ``"no country"``.

    Each inclusive range is split into the fewest prefixes covering exactly it (as
    ``ipaddress.summarize_address_range`` does), all with the row's value. Where
    ranges overlap (a few hundred rows in the published files), a prefix given by two
    rows keeps the later row's value, and a lookup finds the more specific prefix.

    Returns:
        The table and the summary: ``entries`` counts the rows kept, ``prefixes`` the
        prefixes they split into (where overlapping rows give the same prefix, the
        table holds it once).

    Raises:
        FormatError: a malformed line (wrong column count, bad address, a range that
            ends before it starts or mixes IPv4 and IPv6, a bad AS number), naming file
            and line; or a truncated or corrupt compressed file. With
            ``on_error="skip"`` these are counted instead.
        FileNotFoundError: no such file.
    """

OriginPolicy: TypeAlias = Literal["first_peer", "majority", "all"]
"""``origin_policy=`` for RIB dumps: ``first_peer`` (the first peer's route, as pyasn
converts), ``majority`` (the origin most peers see; a tie goes to the one seen first)
or ``all`` (every origin with its peer count)."""

MrtValue: TypeAlias = int | tuple[tuple[Origin, int], ...]
"""The value of a prefix in a table from ``read_mrt``: under ``first_peer`` and
``majority`` the origin AS (an AS set's lowest member), so that the table is an
integer table; under ``all`` a tuple of ``(origin, peers)`` pairs, each origin an
``int`` or a ``frozenset[int]`` for an AS set."""

def read_mrt(
    path: str | os.PathLike[str],
    *,
    updates: Sequence[str | os.PathLike[str]] = ...,
    origin_policy: OriginPolicy = "first_peer",
    on_error: OnError = "raise",
    progress: Progress = None,
) -> tuple[PrefixTable, Summary]:
    """Read an MRT RIB dump (TABLE_DUMP_V2, with ADD-PATH, or TABLE_DUMP; plain or
    gzip/bzip2), then apply the BGP4MP update files ``updates`` in order, into a table
    of ``prefix -> MrtValue``.

    The origin is the last AS of the path: an AS_SET there is a set origin; private
    and reserved ASNs at the end are passed over to the last public AS; confederation
    segments are ignored. Entries with an empty path, and the default route, are left
    out and counted.

    Returns:
        The table and the summary of the RIB file, with ``prefixes`` (the table's
        size) and, when there are update files, ``updates``: a summary per update
        file.

    Raises:
        FormatError: a malformed or truncated record (naming the file, the record and
            its byte offset); with ``on_error="skip"`` it is counted instead.
        ValueError: an unknown ``origin_policy``.
        FileNotFoundError: no such file.
    """

MrtRoute: TypeAlias = tuple[Literal["B", "A", "W"], int, str, int, str, int | None, str | None]
"""One route of an MRT file: ``(kind, timestamp, peer_ip, peer_asn, prefix, path_id,
as_path)``, as ``bgpdump -m`` prints them. ``kind`` is ``"B"`` for a RIB entry,
``"A"`` for an announcement and ``"W"`` for a withdrawal; ``path_id`` is the ADD-PATH
id (None without ADD-PATH); ``as_path`` is the path as text (``""`` if empty), None
for a withdrawal."""

@final
class MrtRoutes:
    """Iterator over every route of an MRT file (see ``mrt_routes``). Reading happens
    as it is iterated, with the GIL released; a malformed record raises
    ``FormatError`` and ends the iteration."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> MrtRoute: ...

def mrt_routes(path: str | os.PathLike[str]) -> MrtRoutes:
    """Every route in an MRT file (plain or gzip/bzip2), one tuple per RIB entry,
    announcement or withdrawal. ``FileNotFoundError`` if there is no such file."""

@type_check_only
class As2OrgRecord(TypedDict):
    """One AS of a CAIDA as2org file, joined with its organisation."""

    asn: int
    name: str | None
    """The AS name (``aut_name``), e.g. ``"GOOGLE"``."""
    org_id: str | None
    org_name: str | None
    """None when the organisation is not in the file."""
    country: str | None
    """The organisation's ISO 3166 alpha-2 country code."""
    source: str | None
    """The registry (RIR or NIR) whose WHOIS record this is, e.g. ``"ARIN"``."""
    changed: str | None
    """``YYYYMMDD`` of the AS record's last change."""
    opaque_id: str | None
    """The RIR's opaque holder id (newer files only)."""

def read_as2org(
    path: str | os.PathLike[str], *, on_error: OnError = "raise", progress: Progress = None
) -> tuple[dict[int, As2OrgRecord], Summary]:
    """Read a CAIDA AS-to-organisation file: pipe-separated ``as-org2info.txt`` (both
    the 5- and the 6-field AS layout) or JSON lines ``as-org2info.jsonl``, plain or
    gzip/bzip2 (all told by content).

    An ASN listed twice (by two registries) keeps the record with the latest
    ``changed`` date (a missing date is older than any date; on a tie the first in
    the file); the others are counted in ``summary["skipped"]["duplicate ASN"]``. An AS
    whose organisation is missing from the file is kept with ``org_name`` and
    ``country`` None. Text is kept as the file has it.

    Returns:
        ``(ases, summary)``: ``ases`` maps each ASN to an :class:`As2OrgRecord`, in
        ASN order; the summary also has ``orgs`` (organisations read) and
        ``ases_without_org``.
    """

@type_check_only
class Delegation(TypedDict):
    """One record of an RIR delegated statistics file."""

    registry: str
    """``afrinic``, ``apnic``, ``arin``, ``lacnic`` or ``ripencc``."""
    country: str | None
    """ISO 3166 alpha-2 code of the holder (``EU``/``AP`` occur); None for an empty
    country or ``ZZ``."""
    status: str
    """``allocated`` or ``assigned`` (only these are in the returned tables)."""
    date: str | None
    """``YYYYMMDD`` of the allocation or assignment."""
    opaque_id: str | None
    """The holder's id (extended files)."""

@final
class AsnRanges(Mapping[int, Delegation]):
    """The AS numbers of delegated ``asn`` records (see ``read_delegated``) as a
    read-only mapping ``asn -> record``, kept as ranges: a record's count of a
    billion AS numbers costs one entry. ``len`` counts AS numbers; iterating yields
    them one by one (never all at once); where records overlap, the later one in
    the file holds the number, as in a ``dict`` filled in file order. Equal to any
    mapping with the same items."""

    def __getitem__(self, key: int, /) -> Delegation: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> AsnIter: ...
    def __contains__(self, key: object, /) -> bool: ...
    @overload  # type: ignore[override]
    def get(self, key: int, default: None = None) -> Delegation | None: ...
    @overload
    def get(self, key: int, default: _T) -> Delegation | _T: ...
    def ranges(self) -> list[tuple[int, int, Delegation]]:
        """``(first, last, record)`` of each range of AS numbers, in order; one
        record (the same dict) for all the numbers of one file record."""

@final
class AsnIter:
    """Iterator over an ``AsnRanges``' AS numbers, records or ``(asn, record)``."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> Any: ...

def read_delegated(
    path: str | os.PathLike[str], *, on_error: OnError = "raise", progress: Progress = None
) -> tuple[PrefixTable, AsnRanges, Summary]:
    """Read an RIR delegated statistics file (``delegated-<rir>[-extended]-<date>``),
    plain or gzip/bzip2.

    IPv4 blocks whose address count is not a power of two are split into the fewest
    prefixes covering them. Only delegated resources (``allocated``/``assigned``)
    go into the results; ``available`` and ``reserved`` rows of extended files are
    counted in ``summary["skipped"]`` as ``"not delegated (available)"`` and
    ``"not delegated (reserved)"``. A file cut off mid-line (fewer records than its
    version line announces, last line without a line end) raises ``FormatError``
    naming that line; with ``on_error="skip"`` the complete lines are kept, the cut
    line is counted under ``"cut-off last line"`` and ``summary["truncated"]`` is
    True.

    Returns:
        ``(table, asns, summary)``: ``table`` maps each prefix to a
        :class:`Delegation` dict, ``asns`` (an :class:`AsnRanges`) maps each ASN
        to one, keeping each record's range of AS numbers as one range.
        The summary also has ``header`` (the version line: ``version, registry,
        serial, records, start_date, end_date, utc_offset``, or None for an empty
        file), ``declared`` (record counts by type from the summary lines) and
        ``counts`` (records read by type: ``asn``, ``ipv4``, ``ipv6``, all statuses).
    """

@type_check_only
class AsName(TypedDict):
    """An AS's name text and its parts."""

    asn: int
    text: str
    """The whole text, e.g. ``"GOOGLE - Google Inc., US"``."""
    handle: str | None
    """``"GOOGLE"``; None for placeholders (``-Reserved AS-``) and names without a
    handle-like first word."""
    description: str | None
    """``"Google Inc."``."""
    country: str | None
    """From a trailing ``, CC`` (two capitals); ``ZZ`` gives None."""

def read_asnames(
    path: str | os.PathLike[str], *, on_error: OnError = "raise", progress: Progress = None
) -> tuple[dict[int, AsName], Summary]:
    """Read AS names: pyasn's JSON object ``{"<asn>": "<text>"}`` or cidr-report text
    lines ``AS<n> <text>`` (32-bit ASNs may be ASDOT, ``AS6.5`` = 6*65536+5), plain or
    gzip/bzip2 (all told by content).

    The text is split: a trailing ``, CC`` is the country; a single word before the
    first `` - `` is the handle and the rest the description (``GOOGLE - Google
    Inc.``); otherwise a first word of capitals, digits, ``-_.`` is the handle
    (``DTAG Deutsche Telekom AG``); names starting with ``-`` have no handle. An ASN
    listed twice keeps its first text (``summary["skipped"]["duplicate ASN"]``).

    Returns:
        ``(names, summary)``: ``names`` maps each ASN to an :class:`AsName`, in ASN
        order.
    """

__version__: str

@final
class PrefixTable:
    """A longest-prefix-match table for IPv4 and IPv6 prefixes (a tree bitmap in Rust).

    IPv4 and IPv6 prefixes live in separate trees: an IPv4 address never matches an
    IPv6 prefix. An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) is an IPv6 address,
    as in ``ipaddress``: it matches IPv6 prefixes such as ``::ffff:0:0/96`` only. Look
    up ``IPv6Address(a).ipv4_mapped`` to ask about the IPv4 address inside it.

    Values may be any Python object. ``int`` values that fit in 64 bits are stored
    natively, so that ``lookup_batch`` returns them as a numpy array.

    Speed: writes go to a tree bitmap. Large batches (4,096 addresses or more), and
    single lookups once there have been as many as there are prefixes, use a compiled
    read-only form built from it (a Poptrie, tens of milliseconds for a full table),
    which the next write drops. Large batches use every core.

    Thread safety: any number of threads may look up at once (batch lookups release
    the GIL). A write waits until running lookups finish and is then seen whole by
    every later lookup; no lookup ever sees a half-done write.

    Args:
        items: prefixes and values to insert: a mapping or an iterable of
            ``(prefix, value)`` pairs.
        strict: if True (the default) a prefix with host bits set, such as
            ``"10.0.0.1/8"``, is a ``ValueError`` (like ``ipaddress.ip_network``);
            if False the host bits are masked off.
    """

    def __new__(
        cls,
        items: Mapping[Network, Any] | Iterable[tuple[Network, Any]] | None = None,
        *,
        strict: bool = True,
    ) -> Self: ...
    @property
    def strict(self) -> bool: ...
    @property
    def nbytes(self) -> int:
        """Memory held by the tree bitmap, the compiled form (when built) and the
        values' slots, in bytes (not counting the Python objects values refer to)."""
    @property
    def compiled(self) -> bool:
        """Whether lookups go to the compiled read-only form (a Poptrie) now. A
        table compiles itself for a batch of 4096 or more addresses, and after as
        many single lookups since the last write as it has prefixes (at least
        4096); every write drops the compiled form."""
    def compile(self) -> bool:
        """Compile now, so that the next lookups are fast (releases the GIL); False
        if the table cannot be compiled (over 2**23 distinct values)."""
    def counts(self) -> tuple[int, int]:
        """The number of IPv4 and of IPv6 prefixes."""
    def insert(self, prefix: Network, value: Any) -> Any | None:
        """Insert or replace a prefix; return the value it replaced, or None."""
    def __setitem__(self, prefix: Network, value: Any, /) -> None: ...
    def update(
        self, items: Mapping[Network, Any] | Iterable[tuple[Network, Any]]
    ) -> None:
        """Insert many prefixes (like ``dict.update``)."""
    def __getitem__(self, key: Address | Network, /) -> Any:
        """Longest match: the value of the most specific prefix that contains the
        address (or, for a prefix, that covers it). ``KeyError`` if none does."""
    def get(self, key: Address | Network, default: Any = None) -> Any:
        """Longest match, or ``default``."""
    def lookup_with_prefix(self, key: Address | Network) -> tuple[AnyNetwork, Any] | None:
        """Longest match as ``(network, value)``, or None."""
    def __contains__(self, key: Address | Network, /) -> bool:
        """True if a longest match exists (``key in t`` iff ``t[key]`` succeeds)."""
    def exact(self, prefix: Network, default: Any = None) -> Any:
        """The value stored for exactly this prefix, or ``default``."""
    def has_prefix(self, prefix: Network) -> bool:
        """True if exactly this prefix is in the table."""
    def __delitem__(self, prefix: Network, /) -> None:
        """Remove exactly this prefix; ``KeyError`` if it is not in the table."""
    def pop(self, prefix: Network, default: Any = ...) -> Any:
        """Remove exactly this prefix and return its value; ``default`` (or KeyError
        when no default is given) if it is not in the table."""
    def clear(self) -> None: ...
    def covering(self, key: Address | Network) -> list[tuple[AnyNetwork, Any]]:
        """All prefixes that contain the address or prefix (less-specifics, the
        prefix itself included), from the shortest to the longest."""
    def covered(self, prefix: Network) -> list[tuple[AnyNetwork, Any]]:
        """All prefixes inside ``prefix`` (more-specifics, the prefix itself
        included), in address order."""
    def items(self) -> list[tuple[AnyNetwork, Any]]:
        """All ``(network, value)`` pairs in address order: IPv4 first, then by
        network address, a shorter prefix before a longer one at the same address
        (the order of ``sorted()`` on ``ipaddress`` networks)."""
    def __iter__(self) -> Iterator[tuple[AnyNetwork, Any]]:
        """Iterate over a snapshot of ``items()``."""
    def __len__(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __repr__(self) -> str:
        """``PrefixTable(ipv4=512621, ipv6=0)``."""
    def __reduce__(self) -> tuple[Any, ...]: ...
    def lookup_batch(
        self,
        addresses: Addresses,
        *,
        missing: int = -1,
        on_error: RowError = "raise",
    ) -> tuple[npt.NDArray[np.int64] | list[Any], npt.NDArray[np.int16], npt.NDArray[np.bool_]]:
        """Longest match for many addresses at once, with the GIL released.

        Args:
            addresses: an Arrow column (anything with ``__arrow_c_array__`` or
                ``__arrow_c_stream__``: pyarrow, Polars, pandas, DuckDB, arro3) of
                address strings, ``fixed_size_binary[4]``/``[16]`` or ``uint32``; a
                1-D ``uint32`` array of IPv4 addresses, an ``(N, 16)`` ``uint8``
                array of packed IPv6 addresses, or any iterable of addresses (str,
                int, bytes, ipaddress; families may be mixed). A null (None) is a
                row without an address: a miss.
            missing: the value reported for addresses with no match (integer tables).
            on_error: a malformed address raises ``ValueError`` naming its row
                (``"raise"``) or is a miss (``"null"``).

        Returns:
            ``(values, prefixlen, found)``: ``values`` is an ``int64`` array when
            every value in the table is an ``int`` (``missing`` where nothing
            matched), else a list (None where nothing matched); ``prefixlen`` is
            the matched prefix length (-1 where nothing matched); ``found`` is a
            boolean mask.
        """

class DatabaseError(ValueError):
    """A file is not a usable geoip_rs database: not one at all, a newer format,
    truncated or corrupt. The message names the file and what is wrong."""

CountrySource: TypeAlias = Literal["mmdb", "as2org", "rir-prefix", "rir-asn", "asname"]
"""Where a country came from, in the order they are tried unless a build chose
another (``COUNTRY_ORDER``): the network of an MMDB file covering the address; the
origin AS's organisation in CAIDA as2org; the RIR delegated block covering the
address; the RIR delegation of the AS number; the country at the end of the AS name."""

@final
class Record:
    """What the database says about one address. Frozen, hashable, picklable;
    ``to_dict()`` gives the fields in order.

    A record from ``Database.lookup`` holds what the lookup found (address,
    prefix, AS) and makes its other fields the first time one is read, so a
    lookup costs little more than a bare table's; it keeps its database's file
    mapped until it is dropped, so its fields can be read after ``close()``.
    ``address`` and ``prefix`` are made once and then returned as the same
    objects."""

    def __new__(
        cls,
        address: Address,
        prefix: Network,
        asn: int,
        origins: Iterable[int],
        as_name: str | None = None,
        org_id: str | None = None,
        org_name: str | None = None,
        country: str | None = None,
        country_source: str | None = None,
        registry: str | None = None,
    ) -> Self: ...
    @property
    def address(self) -> IPv4Address | IPv6Address: ...
    @property
    def prefix(self) -> AnyNetwork:
        """The routed prefix the address falls in (its longest match)."""
    @property
    def asn(self) -> int:
        """The origin AS (for an AS_SET origin, its lowest member)."""
    @property
    def origins(self) -> tuple[int, ...]:
        """Every origin AS known for the prefix, ``asn`` first."""
    @property
    def as_name(self) -> str | None: ...
    @property
    def org_id(self) -> str | None: ...
    @property
    def org_name(self) -> str | None: ...
    @property
    def country(self) -> str | None:
        """ISO 3166 alpha-2 code (``EU``/``AP`` occur in RIR data)."""
    @property
    def country_source(self) -> CountrySource | None: ...
    @property
    def registry(self) -> str | None:
        """The RIR that delegated the address block, else the AS number, else the
        registry CAIDA as2org took the organisation from (``arin``, ``ripencc``, ...)."""
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __repr__(self) -> str: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

@type_check_only
class BatchColumns(TypedDict, total=False):
    found: npt.NDArray[np.bool_]
    asn: npt.NDArray[np.uint32]
    prefix_len: npt.NDArray[np.uint8]
    country: npt.NDArray[np.bytes_]
    country_source: npt.NDArray[np.bytes_]
    prefix: list[str | None]
    as_name: list[str | None]
    org_id: list[str | None]
    org_name: list[str | None]
    registry: list[str | None]

@type_check_only
class AsInfo(TypedDict):
    asn: int
    name: str | None
    org_id: str | None
    org_name: str | None
    org_country: str | None
    registry: str | None
    rir_country: str | None
    name_country: str | None

@final
class DbIter:
    """Iterator over a database's ``(prefix, origin AS)`` pairs (see
    ``Database.__iter__``)."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> tuple[AnyNetwork, int]: ...

@disjoint_base
class Database:
    """A GeoIP database file, memory-mapped and used in place: opening reads nothing
    but the headers (and, with ``verify``, the checksum over the file), and processes
    share its pages. Use as a context
    manager or call ``close()``; any use after that raises ``ValueError``. Pickles as
    its path (the other process maps the same file)."""

    def __new__(cls, path: str | os.PathLike[str], *, verify: bool = True) -> Self:
        """Open ``path``. ``verify`` checks the checksum (reads the file once, about
        1 ms for the 17 MB sample); without it opening takes microseconds whatever the
        size. The headers and section sizes are always checked, and every index a
        query follows is checked where it is used, so a damaged file can never crash.
        Raises ``FileNotFoundError``, or ``DatabaseError`` for a file that is not a
        sound database."""
    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def metadata(self) -> dict[str, Any]:
        """Provenance: ``sources`` (kind, name, date, size, sha256 of each file),
        with the ``records`` read and those ``skipped``, by reason,
        ``options`` (e.g. ``origin_policy``), ``geoip_rs_version``, ``built`` (UTC,
        honours ``SOURCE_DATE_EPOCH``), ``format_version`` and ``counts``."""
    @property
    def file_size(self) -> int: ...
    def lookup(self, ip: Address, at: Time | None = None) -> Record | None:
        """The record of the longest matching prefix; None if no prefix covers ``ip``.

        ``at`` (a datetime, a date, Unix seconds, a numpy ``datetime64`` or an ISO
        date string; naive datetimes are UTC) asks the snapshot in force then: the
        newest taken at or before it (None before the first). A one-date database
        is one snapshot taken at its data time. Without ``at``, the newest."""
    def get(self, ip: Address, at: Time | None = None) -> Record | None:
        """Same as ``lookup`` (maxminddb's name)."""
    @property
    def is_history(self) -> bool:
        """Whether the file holds many snapshots (see ``geoip_rs.build_history``)."""
    def _data_time(self) -> str | None: ...
    def _times(self) -> list[int]: ...
    def _snapshot_at(self, at: Time) -> int | None: ...
    def _history(self, subject: Address | Network) -> list[tuple[int, int, Record]]: ...
    def _diff(self, from_: int, to: int, /) -> dict[str, list[Any]]: ...
    def __contains__(self, ip: Address, /) -> bool:
        """True if a routed prefix covers ``ip``."""
    def __len__(self) -> int:
        """Number of routed prefixes (of the newest snapshot)."""
    def __iter__(self) -> DbIter:
        """``(prefix, origin AS)`` pairs, IPv4 then IPv6, in address order."""
    def lookup_batch(
        self,
        addresses: Addresses,
        *,
        details: bool = False,
        on_error: RowError = "raise",
        at: Time | Times | None = None,
    ) -> BatchColumns:
        """Many addresses at once, with the GIL released (large batches on every core).

        Args:
            addresses: as ``PrefixTable.lookup_batch`` takes them: an Arrow column,
                a numpy array or an iterable (a null is a row without an address).
            details: also return the text columns.
            on_error: a malformed address raises ``ValueError`` naming its row
                (``"raise"``) or is a miss (``"null"``).
            at: one time for every address (as ``lookup`` takes it), or one per
                address: a numpy ``datetime64`` array (D, h, m, s, ms, us or ns),
                integer Unix seconds, an Arrow timestamp, date or integer column, or
                a list of times. NaT, nulls and a length other than the addresses'
                raise ``ValueError``.

        Returns:
            columns: ``found`` (bool), ``asn`` (``uint32``, 0 where not found),
            ``prefix_len`` (``uint8``), ``country`` (``S2``, empty where unknown)
            and ``country_source`` (``S10``); with ``details``, lists ``prefix``,
            ``as_name``, ``org_id``, ``org_name`` and ``registry``; with ``at``,
            ``snapshot`` (``int32``: the snapshot that answered, -1 for a time
            before the first, which is a miss) and ``snapshot_time``
            (``datetime64[s]``, NaT before the first): ``at`` minus it is how old
            each answer was. With one time for all rows these two are read-only
            views of one value.
        """
    def to_arrow(
        self,
        addresses: Addresses,
        columns: Sequence[str] | None = None,
        *,
        on_error: RowError = "raise",
        at: Time | Times | None = None,
    ) -> ArrowTable:
        """The records of many addresses as an Arrow table, made on every core with
        the GIL released: one row per address, the columns of
        ``arrow_schema(columns)`` (every column by default, in that order), null
        where an address is not routed, null or malformed.

        The table goes to any Arrow consumer without a copy through the PyCapsule
        interface: ``pyarrow.table(t)``, ``polars.DataFrame(t)``, DuckDB. The
        ``address`` column is the text given where the input is text (so a
        malformed row under ``on_error="null"`` shows what it was), else each
        address's standard text.

        Args:
            addresses: as ``lookup_batch`` takes them.
            columns: the column names to give, in this order.
            on_error: a malformed address raises ``ValueError`` naming its row
                (``"raise"``) or gives a null row (``"null"``).
            at: the time(s) to answer at, as ``lookup_batch`` takes them.
        """
    def as_info(self, asn: int | str) -> AsInfo | None:
        """What the database knows about an AS (``15169`` or ``"AS15169"``)."""
    def prefixes(self, asn: int | str) -> list[AnyNetwork]:
        """The prefixes ``asn`` originates (as any of their origins), in order."""
    def covering(self, prefix: Address | Network) -> list[tuple[AnyNetwork, int]]:
        """Routed prefixes containing ``prefix`` (itself included), shortest first."""
    def covered(self, prefix: Network) -> list[tuple[AnyNetwork, int]]:
        """Routed prefixes inside ``prefix`` (itself included), in address order."""
    def as_sizes(self) -> dict[int, tuple[int, int]]:
        """``{asn: (IPv4 addresses, IPv6 addresses)}``: the addresses whose longest
        match the AS originates (nested prefixes are not counted twice)."""
    def _summary(self, by: Literal["asn", "country"] = "asn") -> dict[str, list[Any]]: ...
    def _export(self, format: str, start: int, count: int) -> tuple[str, int]: ...
    def close(self) -> None:
        """Unmap the file once nothing uses it: a batch running in another thread
        finishes first, and records from ``lookup`` keep it until they go."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> None: ...
    def __repr__(self) -> str: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

_MmdbValue: TypeAlias = Any
"""A decoded MMDB value: dict, list, str, bytes, int, float or bool."""

@final
class MmdbIter:
    """Iterator over an MMDB file's ``(network, record)`` pairs (see
    ``MmdbDatabase.__iter__``)."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> tuple[AnyNetwork, dict[str, _MmdbValue]]: ...

@disjoint_base
class MmdbDatabase:
    """An MMDB (MaxMind DB) file, memory-mapped and read-only, through MaxMind's own
    Rust reader; or one compiled by ``geoip_rs.convert_mmdb``, which answers the same
    with batches walking a Poptrie. Every problem with the file, at open (``verify`` checks the whole
    tree and data section) or at a lookup, is a ``DatabaseError`` naming the file.
    Use as a context manager or call ``close()``. Pickles as its path."""

    def __new__(cls, path: str | os.PathLike[str], *, verify: bool = True) -> Self: ...
    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def metadata(self) -> dict[str, Any]:
        """The file's metadata: ``database_type``, ``description``, ``languages``,
        ``ip_version``, ``node_count``, ``record_size``, ``build_epoch``, and the
        binary format's version."""
    def lookup(self, ip: Address) -> dict[str, _MmdbValue] | None:
        """The record of ``ip`` as a dict; None if the file has none."""
    def get(self, ip: Address) -> dict[str, _MmdbValue] | None:
        """Same as ``lookup`` (the name maxminddb's reader uses)."""
    def get_with_prefix_len(self, ip: Address) -> tuple[dict[str, _MmdbValue] | None, int]:
        """The record and the length of the file's network holding ``ip``."""
    def lookup_network(self, ip: Address) -> tuple[AnyNetwork, dict[str, _MmdbValue]] | None:
        """The file's network holding ``ip`` and its record; None if no record."""
    def __contains__(self, ip: Address, /) -> bool: ...
    def __iter__(self) -> MmdbIter:
        """Every network with a record and the record, IPv4 networks once (not
        again under their IPv6 aliases)."""
    def lookup_batch(
        self,
        addresses: Addresses,
        fields: str | Sequence[str] | None = None,
        *,
        on_error: RowError = "raise",
    ) -> dict[str, npt.NDArray[Any]]:
        """Many addresses at once, the tree walks on every core with the GIL released.

        Args:
            addresses: as ``Database.lookup_batch`` takes them.
            fields: dotted paths into the records (``"country.iso_code"``,
                ``"location.latitude"``, ``"subdivisions.0.iso_code"``); by default
                every leaf of the records found, localised names in English only.
            on_error: ``"raise"`` (a ``ValueError`` naming the row) or ``"null"``.

        Returns:
            ``found`` (bool), one array per field and ``prefix_len`` (the network's
            length, uint8). A field's array has the type its values share: uint64,
            int64, float64 (NaN where missing), bool, or objects (text, with maps and
            arrays as JSON; None where missing); integers are 0 where missing."""
    def to_arrow(
        self,
        addresses: Addresses,
        fields: str | Sequence[str] | None = None,
        *,
        on_error: RowError = "raise",
    ) -> ArrowTable:
        """The answers as an Arrow table: ``prefix_len`` then one column per field
        (as ``lookup_batch`` chooses them; text dictionary-encoded), null where a row
        has no record or its record no such field."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> None: ...
    def __repr__(self) -> str: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

def _to_mmdb(
    db: Database,
    path: str | os.PathLike[str],
    *,
    database_type: str,
    description: str | None = None,
    ipv4_aliases: bool | None = None,
    snapshot: int | None = None,
) -> dict[str, Any]: ...
def _file_kind(path: str | os.PathLike[str]) -> Literal["database", "mmdb", "compiled-mmdb"]: ...
def _compile_mmdb(src: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, int]: ...
def _seconds(at: Time) -> int: ...
def _build_history(
    path: str | os.PathLike[str],
    databases: list[str | os.PathLike[str]],
    *,
    progress: Progress = None,
) -> None: ...

#: The kinds of source file a database is built from, as ``(name, description,
#: is_prefix_source)``, in the order a build reads them: ``mrt`` first (all MRT files
#: into one RIB), then the other prefix sources, then the registry sources.
SOURCE_KINDS: tuple[tuple[str, str, bool], ...]
COUNTRY_ORDER: tuple[CountrySource, ...]
"""The country sources in the order a record's country is looked for, unless a
build chooses another (``build_database(country_order=...)``)."""
MMDB_COUNTRY_FIELDS: tuple[str, ...]
"""Where an MMDB record's country is read from, the first the record has, unless a
build chooses other fields (``build_database(mmdb_country_fields=...)``)."""

def _build_database(
    path: str | os.PathLike[str],
    sources: list[tuple[str, str | os.PathLike[str]]],
    *,
    origin_policy: Literal["first_peer", "majority", "all"] = "first_peer",
    on_error: OnError = "raise",
    progress: Progress = None,
    country_order: Sequence[CountrySource] | None = None,
    mmdb_country_fields: Sequence[str] | None = None,
) -> dict[str, Summary]:
    """Build a database file from ``(kind, path)`` pairs, ``kind`` a name of
    ``SOURCE_KINDS``; returns each file's load summary by path.

    Raises:
        ValueError: an unknown kind or option value, or no prefix source.
    """
