"""What `manage.py shell -c` runs against a primary with a streaming replica in the replica
tests (tests/test_replicas.py): where the router sends reads, before and after a write, in a
transaction, while the replica lags and when it is unreachable, and what health says; printed
as JSON for the test to check."""

from __future__ import annotations

import json
import time


def main(replica_url: str) -> None:
    import psycopg
    from django.contrib.auth.models import Group
    from django.db import connections, router, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cases.models import Case
    from cases.selectors import search_cases
    from legalplatform.db import replicas

    found = {}

    def read_alias():
        with replicas.replica_reads():
            return router.db_for_read(Case)

    replicas.begin_request()
    found["opted_in_read"] = read_alias()
    found["plain_read"] = router.db_for_read(Case)
    with replicas.replica_reads(), transaction.atomic():
        found["read_in_transaction"] = router.db_for_read(Case)
    with CaptureQueriesContext(connections["replica1"]) as on_replica:
        search_cases("contract dispute")
    found["search_queries_on_replica"] = len(on_replica)
    Group.objects.create(name="written in this request")
    found["read_after_write"] = read_alias()
    replicas.begin_request()  # the next request
    found["next_request_read"] = read_alias()

    with psycopg.connect(replica_url, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            Group.objects.create(name="not replayed yet")
            time.sleep(replicas.CHECK_INTERVAL + 2)  # past DATABASE_REPLICA_MAX_LAG 1
            replicas.begin_request()
            found["lagging_read"] = read_alias()
            found["health_lagging"] = json.loads(Client().get("/api/health").content)
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not replicas.replica_state("replica1", fresh=True).usable:
        time.sleep(0.1)
    found["caught_up_read"] = read_alias()
    print(json.dumps(found))
