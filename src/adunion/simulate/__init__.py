"""The demo network and the traffic simulator that makes it live."""
