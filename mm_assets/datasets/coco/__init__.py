"""COCO captions: the upstream zips, the two caption splits, and the pairs table built from them."""
