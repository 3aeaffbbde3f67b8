"""What the deployment fixtures launch and the tests look for: the OWT partitions run through the
queue and the CC3M shard whose availability is crawled."""

PARTITIONS = ["00", "01", "05"]
CC3M_SHARD = "00000"
