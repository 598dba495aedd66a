"""Icinga 2: windows become fixed downtimes on hosts and services.

``translate`` turns windows into downtimes (pure); ``adapter`` talks to the Icinga 2 API.
"""
