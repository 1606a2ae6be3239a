"""One of the writer processes of test_concurrency: it waits at a barrier (an advisory lock the
test holds), then writes usage logs of two skills through every write path at once with the
other writers, each statement in its own transaction, as application servers do; now and then
it folds the pending deltas meanwhile, waiting for another fold or not, as the fold timer and
the admin's readers do."""

from django.db import connection

from skills.models import Skill, SkillUsageLog
from skills.services import fold_skill_usage, record_usage, record_usages
from skills.tests.builders import log, usage

BARRIER = 734_201  # advisory lock key
ROUNDS = 60


def main(worker: int, skill_pk: str, other_pk: str) -> None:
    skill, other = Skill.objects.get(pk=skill_pk), Skill.objects.get(pk=other_pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock_shared(%s)", [BARRIER])
        cursor.execute("SELECT pg_advisory_unlock_shared(%s)", [BARRIER])
    mine = SkillUsageLog.objects.filter(metadata__worker=worker)
    for n in range(ROUNDS):
        fields = {"tokens_saved": n * 7 + worker, "metadata": {"worker": worker}}
        record_usage(**usage(skill, success=n % 3 > 0, **fields))
        if n % 6 == 0:
            # Batches over both skills, in both orders: the trigger locks skills in id order.
            SkillUsageLog.objects.bulk_create(
                [log(other, **fields), log(skill, success=False, **fields), log(skill, **fields)]
            )
            record_usages([usage(skill, **fields) for _ in range(5)] + [usage(other, **fields)] * 5)
        if n % 6 == 3:
            ids = list(mine.order_by("tokens_saved").values_list("pk", flat=True)[:4])
            SkillUsageLog.objects.filter(pk__in=ids[:2]).delete()
            SkillUsageLog.objects.filter(pk__in=ids[2:3]).update(success=False, tokens_saved=1)
            SkillUsageLog.objects.filter(pk__in=ids[3:]).update(skill=other)
        if n % 5 == worker % 5:
            fold_skill_usage(wait=worker % 2 == 0)
    print("done", mine.count())
