"""Static pages of the IAMA screens (served by nitroplatform.api.routes.iama)."""
