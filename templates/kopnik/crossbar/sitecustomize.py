"""Loaded by Python at start (it is on PYTHONPATH): runs kp-client's
authenticator.py, written for Crossbar on Python 2, on Crossbar's
Python 3 without changing the file. Only in the module `authenticator`:
`unicode` is str, `bytes(text)` encodes text as UTF-8, and bcrypt.hashpw
takes and gives text where the stored hash is text (psycopg2 returns the
"Kopnik".password column as str on Python 3)."""
import builtins
import importlib.abc
import importlib.machinery
import sys


def _bytes(x=b"", *args):
    if isinstance(x, str) and not args:
        return x.encode("utf-8")
    return builtins.bytes(x, *args)


class _Bcrypt:
    def __init__(self, real):
        self._real = real

    def hashpw(self, password, salt):
        text = isinstance(salt, str)
        enc = [v.encode("utf-8") if isinstance(v, str) else v for v in (password, salt)]
        out = self._real.hashpw(*enc)
        return out.decode("utf-8") if text else out

    def __getattr__(self, name):
        return getattr(self._real, name)


class _Py2Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "authenticator":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            module.__dict__.setdefault("unicode", str)
            module.__dict__["bytes"] = _bytes
            run(module)
            if "bcrypt" in module.__dict__:
                module.bcrypt = _Bcrypt(module.bcrypt)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Py2Finder())
