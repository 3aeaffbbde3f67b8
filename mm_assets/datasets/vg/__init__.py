"""Visual Genome: the image zips, region descriptions, and the two pairs tables (regions, concat)."""
