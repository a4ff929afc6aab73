"""One router per resource; `framescout.server.app` mounts them."""
