"""Syncs: keeping other systems' suppression objects equal to the windows.

``reconciler`` is system-agnostic (desired vs actual, tags, the adapter protocol);
``runner`` runs one reconciliation of one sync (lease, load, plan, apply, record); each
system is a package of one shape: ``alertmanager/`` and ``icinga2/`` (``translate``,
``adapter``).
"""
