"""Tables of the IAMA module: deployments, records, answers with history, reviews, decisions, snapshots."""
