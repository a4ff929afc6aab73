"""The framescout server: FastAPI app factory, routers per resource, auth and error handling."""

from framescout.server.app import create_app
from framescout.server.settings import Settings

__all__ = ["Settings", "create_app"]
