"""Claims on documents being posted (store/claims.py), on SQLite and on PostgreSQL."""

import threading

import pytest

from stnav_desktop.store import claims
from stnav_desktop.store.models import Profile, StDocument

pytestmark = pytest.mark.both_backends


def _docs(n):
    profile = Profile.create(name="default")
    return [StDocument.create(profile=profile, kind="purchase_order", st_id=10_000_000_000 + i, raw={},
                              content_hash="h").id for i in range(n)]


def test_a_document_held_by_one_pc_is_not_given_to_another(store):
    ids = _docs(15)
    won_a = claims.claim(ids[:10], "alice@AP-1#1", 300)
    won_b = claims.claim(ids[5:], "bob@AP-2#2", 300)
    assert won_a == ids[:10]
    assert won_b == ids[10:]
    held = claims.holders(ids)
    assert {held[i].holder for i in ids[:10]} == {"alice@AP-1#1"}
    assert not any(c.expired for c in held.values())
    # the holder claiming again renews rather than losing them
    assert claims.claim(ids[:10], "alice@AP-1#1", 300) == ids[:10]
    assert claims.release(ids[:10], "alice@AP-1#1") == 10
    assert claims.claim(ids[5:], "bob@AP-2#2", 300) == ids[5:]


def test_an_expired_lease_is_taken_over_and_the_dead_holder_cannot_renew(store, raw_sql):
    ids = _docs(3)
    assert claims.claim(ids, "dead@AP-1#9", 60) == ids
    assert claims.claim(ids, "alive@AP-2#3", 60) == []
    # the PC that held them stopped renewing: its lease ran out (moved back on the database's clock)
    raw_sql("UPDATE document_claim SET expires_at = expires_at - 3600", guards_off=False)
    assert all(c.expired for c in claims.holders(ids).values())
    assert claims.claim(ids, "alive@AP-2#3", 60) == ids
    assert claims.renew(ids, "dead@AP-1#9", 60) == []  # it learns it lost them
    assert claims.release(ids, "dead@AP-1#9") == 0  # and cannot give away what it no longer holds
    assert {c.holder for c in claims.holders(ids).values()} == {"alive@AP-2#3"}


def test_claimed_releases_on_the_way_out_even_after_an_error(store):
    ids = _docs(4)
    with pytest.raises(RuntimeError), claims.claimed(ids, "alice@AP-1#1") as won:
        assert won == ids
        raise RuntimeError("NAV went away")
    assert claims.holders(ids) == {}
    assert claims.claim([], "x", 10) == []
    assert claims.claim([987654321], "x", 10) == []  # no such document: nothing to claim
    from stnav_desktop.store.db import db

    with db.atomic(), pytest.raises(RuntimeError, match="outside any transaction"):
        claims.claim(ids, "alice@AP-1#1")


def test_concurrent_claimers_never_share_a_document(store):
    ids = _docs(120)
    won: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def pc(name):
        from stnav_desktop.store.db import db

        try:
            start.wait()
            got = []
            for i in range(0, len(ids), 7):  # chunk by chunk, like posting
                got += claims.claim(ids[i:i + 7], name, 300)
            won[name] = got
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=pc, args=(f"user@PC-{n}#{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    every = [i for got in won.values() for i in got]
    assert sorted(every) == sorted(ids)  # each document went to exactly one PC
    held = claims.holders(ids)
    for name, got in won.items():
        assert all(held[i].holder == name for i in got)
