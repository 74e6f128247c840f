"""Everything that talks to Z3 (the only place in petriflow that imports it)."""
