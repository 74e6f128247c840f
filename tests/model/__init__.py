"""Tests of the process language: semantics, loader errors, random processes, references."""
