"""Data in and out: imports, exports, the label set, guidelines, data quality, the dataset card."""
