"""A module without any app in it."""

import os

GREETING = "hello"


def helper():
    return os.getcwd()
