"""An IPython extension named in the user's own ipython_config.py."""

NAMES = {"from_user_extension": "user-ext-ok"}


def load_ipython_extension(ipython):
    ipython.push(NAMES)


def unload_ipython_extension(ipython):
    ipython.drop_by_id(NAMES)
