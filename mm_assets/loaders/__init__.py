"""PyTorch datasets over the prepared artifacts: ImageNet, OpenWebText blocks, image-text pairs, GLUE.

Each works with `DataLoader(num_workers>0)` (a worker opens its files itself; tables are held in
numpy arrays, not lists of Python objects, so forked workers share them instead of copying them
page by page) and is deterministic under a seed: an item's random draws come from a generator
seeded by (seed, epoch, index), whatever the number of workers or the order items are asked in.
`hf_views` opens the same tables as Hugging Face `datasets.Dataset`s (docs/loading.md).
"""
