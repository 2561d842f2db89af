"""The server-rendered dashboard (Jinja2 pages, vendored static files) and the offline API docs.

Kept free of imports: app.api.deps imports app.web.auth, and app.web.mount imports the API's dependencies.
"""
