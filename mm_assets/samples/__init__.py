"""Sample data for the demo, the tests and the benchmarks: mirrors in each source's upstream layout,
the CC3M sample server, synthetic images and text. Generated offline and deterministically.

The library never imports this package (mm_assets_tests/test_architecture.py checks it): samples
may use the library's formats and constants, so a change there shows up in the samples too.
"""
