"""Route modules. ``create_app`` includes every module here that defines ``router``: drop a file in to add one."""
