"""What a process keeps between requests stays bounded, and is safe from many threads."""
import threading

from app.storage.caches import Kept


def test_the_least_recently_used_goes_first_past_the_limit():
    kept = Kept(3)
    for key in "abc":
        kept[key] = key.upper()
    assert kept.get("a") == "A"  # used: now the most recent
    kept["d"] = "D"
    assert "b" not in kept and len(kept) == 3
    assert [kept.get(k) for k in "acd"] == ["A", "C", "D"]
    assert kept.pop("c") == "C" and kept.pop("c", "gone") == "gone"


def test_many_threads_reading_and_writing_past_the_limit_leave_it_whole():
    kept, errors = Kept(100), []

    def work(n):
        try:
            for i in range(2_000):
                kept[(n, i)] = i
                kept.get((n, i - 1))
                kept.get((n + 1, i))
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(kept) == 100
