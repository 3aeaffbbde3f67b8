from mm_assets.common.progress import Progress


def test_reports_at_intervals_with_rate_and_eta():
    messages = []
    progress = Progress("encode slice00.txt", messages.append, total=1_000_000, interval=0)
    progress.advance(250_000)
    assert len(messages) == 1
    assert "250.0 KB of 1.0 MB (25.0%)" in messages[0] and "/s" in messages[0] and "ETA" in messages[0]
    progress.finish()
    assert messages[-1].endswith("(done)")


def test_quiet_between_intervals():
    messages = []
    progress = Progress("clean", messages.append, interval=3600)
    for _ in range(1000):
        progress.advance(1)
    assert messages == []
