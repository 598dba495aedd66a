"""Integrations with other tools' own protocols (one package each, same shape as compat/)."""
