"""Database layer: declarative base, engine factory, sessions, core models and migrations runner."""
