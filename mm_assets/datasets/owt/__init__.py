"""OpenWebText: 21 hub slices of nested tar/xz archives, cleaned, encoded, merged by split."""
