"""Operator engines built on the public core: migrations, inspection (stats, doctor), backup."""
