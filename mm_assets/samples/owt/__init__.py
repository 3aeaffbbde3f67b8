"""OpenWebText: the hub-layout mirror and the web-like text it and the benchmarks are made of."""
