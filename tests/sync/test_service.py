
from stnav_desktop.cli import main
from stnav_desktop.sync.app.service import SyncService


def test_a_post_beside_another_poster_posts_the_rest_and_says_who_holds_the_others(store, capsys):
    """No per-PC lock refuses a person's Post because the scheduler is posting: the documents another
    poster holds (claimed in the store) are left to it and named, the rest are posted."""
    from stnav_desktop.store import claims, settings
    from stnav_desktop.store.models import DocStatus, StDocument
    from stnav_desktop.sync.app import batches, documents, mapping, posting
    from tests.sync.example import BILL_R1, BILL_R2, MAPPINGS
    from tests.sync.fake_nav import FakeNav

    profile = settings.get_profile("default")
    settings.set_value(profile, "posting.post_journal", True)
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    for raw in (BILL_R1, BILL_R2):
        documents.stage(profile, "inventory_bill", raw)
    mapping.refresh_readiness(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    first, second = sorted(d.id for d in StDocument.select())
    assert claims.claim([first], "scheduler@PC-1#99999") == [first]  # the scheduler is posting this one
    nav = FakeNav()
    results = {r.document_id: r for r in posting.Poster(profile, nav).post_batch(batch)}
    assert results[first].outcome == posting.Outcome.ELSEWHERE
    assert "being posted by scheduler@PC-1#99999" in results[first].message
    assert results[second].outcome == posting.Outcome.POSTED
    assert StDocument.get_by_id(first).status == DocStatus.APPROVED and len(nav.journals) == 1


def test_unconfigured_connections_say_what_is_missing(store, capsys):
    lines = SyncService("default").test_connections()
    assert ("ServiceTitan", "configuration", False) == lines[0][:3]
    assert "servicetitan.tenant" in lines[0][3] and "Settings tab" in lines[0][3]
    assert main(["connect", "test"]) == 1
    err = capsys.readouterr().err
    assert "check(s) failed" in err
