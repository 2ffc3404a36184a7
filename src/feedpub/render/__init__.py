"""Render: stored items -> feed and page bytes. Pure: no clock, no files."""
