"""psycopg2cffi.compat: register() makes `import psycopg2` give
psycopg2cffi; here psycopg2 is already the real one, so nothing to do."""


def register():
    pass
