"""The questionnaires as YAML data (a package so that the files ship in the wheel)."""
