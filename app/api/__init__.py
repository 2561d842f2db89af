"""The JSON API: every resource router is served under API_PREFIX."""

API_PREFIX = "/api/v1"
