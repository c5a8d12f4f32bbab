from central.web.limiter import AttemptLimiter


def test_limiter_blocks_a_user_after_failures_then_lets_the_window_pass() -> None:
    limiter = AttemptLimiter(per_user=3, per_address=100, period_s=60)
    for t in (0.0, 1.0, 2.0):
        assert limiter.retry_after("Anna", "10.0.0.1", t) == 0
        limiter.failed("anna", "10.0.0.1", t)
    assert limiter.retry_after("anna", "10.0.0.9", 3.0) == 57.0
    assert limiter.retry_after("anna", "10.0.0.1", 60.0) == 0


def test_limiter_blocks_an_address_guessing_many_users() -> None:
    limiter = AttemptLimiter(per_user=3, per_address=4, period_s=60)
    for i in range(4):
        limiter.failed(f"user{i}", "10.0.0.1", float(i))
    assert limiter.retry_after("someone-else", "10.0.0.1", 4.0) == 56.0
    assert limiter.retry_after("someone-else", "10.0.0.2", 4.0) == 0


def test_limiter_success_clears_the_user_but_not_the_address() -> None:
    limiter = AttemptLimiter(per_user=2, per_address=3, period_s=60)
    limiter.failed("anna", "a", 0.0)
    limiter.failed("anna", "a", 1.0)
    assert limiter.retry_after("anna", "b", 2.0) > 0
    limiter.succeeded("anna")
    assert limiter.retry_after("anna", "b", 2.0) == 0
    limiter.failed("bertil", "a", 2.0)
    assert limiter.retry_after("carl", "a", 3.0) > 0
