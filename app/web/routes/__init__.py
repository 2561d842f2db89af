"""The dashboard's page routers."""
