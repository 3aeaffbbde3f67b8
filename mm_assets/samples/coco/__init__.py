"""COCO: a small mirror of the upstream zips and Karpathy's file."""
