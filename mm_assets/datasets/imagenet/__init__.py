"""ImageNet-1k 2012 from the hub's `ILSVRC/imagenet-1k` parquet shards, indexed as a torchvision ImageFolder."""
