"""The classifier's command lines: each module's ``main`` parses flags, calls the library and prints."""
