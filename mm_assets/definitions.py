"""The one code location (`dagster dev -m mm_assets.definitions`): every dataset's definitions,
merged, with the resources they share."""

import dagster as dg

from mm_assets.defs import glue, imagenet, owt, tokenizer
from mm_assets.defs.shared.resources import shared_resources

defs = dg.Definitions.merge(
    tokenizer.defs,
    owt.defs,
    imagenet.defs,
    glue.defs,
    dg.Definitions(resources=shared_resources()),
)
