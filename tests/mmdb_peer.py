"""The ``maxminddb`` side of a comparison, in a child process so that it runs on
the other core while the test asks geoip_rs (see ``mmdbdata.Peer``).

Usage: python mmdb_peer.py FILE MODE JOB OUT
  MODE  a maxminddb mode name (MODE_MMAP_EXT, MODE_MMAP, MODE_FILE)
  JOB   a pickle of address strings (answers: ``get_with_prefix_len`` of each),
        or ``iter`` (answers: the reader's ``(network, record)`` iteration)
  OUT   the pickle written: ``(the reader class's module, answers)``
"""

import gc
import pickle
import sys

import maxminddb


def main(path: str, mode: str, job: str, out: str) -> None:
    gc.disable()  # as mmdbdata.no_gc: the answers are many dicts and no cycles
    with maxminddb.open_database(path, getattr(maxminddb, mode)) as reader:
        if job == "iter":
            answers = list(reader)
        else:
            with open(job, "rb") as f:
                addresses = pickle.load(f)
            answers = [reader.get_with_prefix_len(a) for a in addresses]
        module = type(reader).__module__
    with open(out, "wb") as f:
        pickle.dump((module, answers), f, protocol=5)


if __name__ == "__main__":
    main(*sys.argv[1:])
