"""Human-rights impact assessment (IAMA) questionnaires as data, records, workflow and exports."""
