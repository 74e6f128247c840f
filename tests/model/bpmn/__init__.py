"""Tests of the BPMN 2.0 importer."""
