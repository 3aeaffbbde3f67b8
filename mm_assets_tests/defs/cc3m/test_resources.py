"""CC3M settings and the crawl timeout: checked before any work, with the variable named."""

import pytest

from mm_assets.defs.cc3m.resources import Cc3mCrawl, Cc3mSource
from mm_assets.defs.shared.resources import HttpResource, SettingError


@pytest.mark.parametrize("resource,needle", [
    (Cc3mSource(shard_size="0"), "MM_CC3M_SHARD_SIZE='0': expected index rows per shard: an integer of at least 1"),
    (Cc3mSource(subset_size="lots"), "MM_CC3M_SUBSET_SIZE='lots'"),
    (Cc3mSource(index_url=" "), "MM_CC3M_INDEX_URL=' '"),
    (Cc3mCrawl(concurrency="-3"), "MM_CC3M_CONCURRENCY='-3'"),
    (Cc3mCrawl(per_host="300"), "MM_CC3M_PER_HOST='300' is more than MM_CC3M_CONCURRENCY='256'"),
    (Cc3mCrawl(placeholder_repeats="1"), "MM_CC3M_PLACEHOLDER_REPEATS='1'"),
    (Cc3mCrawl(min_side="1.5"), "MM_CC3M_MIN_SIDE='1.5'"),
    (HttpResource(timeout_s="0"), "MM_HTTP_TIMEOUT_S='0': expected seconds"),
    (HttpResource(timeout_s="soon"), "MM_HTTP_TIMEOUT_S='soon'"),
])
def test_bad_values_name_the_variable(resource, needle):
    with pytest.raises(SettingError) as err:
        resource.check_values()
    assert needle in str(err.value)


def test_defaults_and_what_they_make():
    crawl = Cc3mCrawl()
    crawl.check_values()
    http = HttpResource()
    limits = crawl.limits(timeout_s=http.total_timeout_s, connect_timeout_s=http.connect_timeout_s)
    assert (limits.timeout_s, limits.connect_timeout_s, limits.concurrency, limits.per_host) == (20.0, 5.0, 256, 16)
    assert limits.max_bytes == 20_000_000 and limits.retries == 1
    rules = crawl.image_rules()
    assert (rules.min_side, rules.max_pixels, rules.resize_max_side) == (32, 89_478_485, 0)
    policy = HttpResource(allow_private="1", timeout_s="7.5").crawl_policy()
    assert policy.allow_private and policy.connect_timeout_s == 5.0
    source = Cc3mSource()
    assert source.index_url == "https://storage.googleapis.com/gcc-data/Train/GCC-training.tsv"
    assert (source.integer("shard_size"), source.integer("subset_size")) == (10_000, 500_000)
