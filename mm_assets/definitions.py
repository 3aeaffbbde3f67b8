"""The one code location (`dagster dev -m mm_assets.definitions`): every dataset's definitions,
merged, with the resources they share and the executor `MM_EXECUTOR` picks."""

import dagster as dg

from mm_assets.defs import cc3m, coco, glue, imagenet, owt, pairs, tokenizer, vg
from mm_assets.defs.shared.executor import executor_from_env
from mm_assets.defs.shared.resources import shared_resources

defs = dg.Definitions.merge(
    tokenizer.defs,
    owt.defs,
    cc3m.defs,
    coco.defs,
    vg.defs,
    pairs.defs,
    imagenet.defs,
    glue.defs,
    dg.Definitions(resources=shared_resources(), executor=executor_from_env()),
)
