"""The tokenizer's definitions: the GPT-2 BPE files asset and where they come from."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets
from .resources import Gpt2BpeSource

defs = dataset_definitions(asset_modules=[assets], resources={"gpt2_bpe_source": Gpt2BpeSource.from_env()})
