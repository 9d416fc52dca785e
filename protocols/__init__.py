"""The protocol packs shipped with rmfhc (package data; this folder holds YAML, not code)."""
