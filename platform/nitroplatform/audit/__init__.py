"""The append-only, tamper-evident audit log: who viewed, claimed, closed, silenced or changed what."""

from nitroplatform.audit.chain import GENESIS_HASH, ChainReport, entry_hash, record, verify_chain

__all__ = ["GENESIS_HASH", "ChainReport", "entry_hash", "record", "verify_chain"]
