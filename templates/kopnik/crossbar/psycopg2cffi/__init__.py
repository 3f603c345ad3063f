"""psycopg2cffi for kp-client's authenticator.py: the same API over
psycopg2 (psycopg2cffi itself builds only against old Pythons)."""
from psycopg2 import *  # noqa: F401,F403
from psycopg2 import connect  # noqa: F401
from . import compat  # noqa: F401
