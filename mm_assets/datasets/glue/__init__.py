"""GLUE from the hub's `nyu-mll/glue` parquet files, binarized as fairseq's RoBERTa GLUE recipe does."""
