"""Operations: camera provisioning, backup and restore, and the start-up steps of a platform process."""
