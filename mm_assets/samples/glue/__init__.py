"""GLUE: a hub-layout mirror, and the original TSVs that fairseq's recipe reads in the reference tests."""
